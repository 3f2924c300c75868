/**
 * The four ecosystems' version orders (dpkg, rpm, pacman, apk) as SQL functions, so that fleet queries filter versions in
 * the database (schema v2). Each is a transcription of its file in src/versions and is
 * tested to order thousands of fixture-guest version pairs exactly as they do:
 *
 *   gk_vercmp('dpkg' | 'rpm' | 'pacman' | 'apk', a, b)  → -1, 0, 1 (NULL for any other ecosystem)
 *
 * Strings compare by code point (COLLATE "C"), as the package managers compare bytes.
 */
export const VERSION_FUNCTIONS_SQL = `
  -- dpkg's character order: ~ before everything (even the end), letters before non-letters
  CREATE FUNCTION gk_dpkg_order(c text) RETURNS integer IMMUTABLE PARALLEL SAFE LANGUAGE sql AS $$
    SELECT CASE WHEN c = '' OR c ~ '^[0-9]' THEN 0 WHEN c = '~' THEN -1 WHEN c ~ '^[A-Za-z]' THEN ascii(c) ELSE ascii(c) + 256 END
  $$;

  -- dpkg's verrevcmp over one part (upstream version or revision)
  CREATE FUNCTION gk_dpkg_part(a text, b text) RETURNS integer IMMUTABLE STRICT PARALLEL SAFE LANGUAGE plpgsql AS $$
  DECLARE
    i int := 1; j int := 1; la int := length(a); lb int := length(b);
    ac int; bc int; first_diff int;
  BEGIN
    WHILE i <= la OR j <= lb LOOP
      first_diff := 0;
      WHILE (i <= la AND substr(a, i, 1) !~ '[0-9]') OR (j <= lb AND substr(b, j, 1) !~ '[0-9]') LOOP
        ac := CASE WHEN i <= la AND substr(a, i, 1) !~ '[0-9]' THEN gk_dpkg_order(substr(a, i, 1)) ELSE 0 END;
        bc := CASE WHEN j <= lb AND substr(b, j, 1) !~ '[0-9]' THEN gk_dpkg_order(substr(b, j, 1)) ELSE 0 END;
        IF ac <> bc THEN RETURN ac - bc; END IF;
        i := i + 1; j := j + 1;
      END LOOP;
      WHILE substr(a, i, 1) = '0' LOOP i := i + 1; END LOOP;
      WHILE substr(b, j, 1) = '0' LOOP j := j + 1; END LOOP;
      WHILE substr(a, i, 1) ~ '[0-9]' AND substr(b, j, 1) ~ '[0-9]' LOOP
        IF first_diff = 0 THEN first_diff := ascii(substr(a, i, 1)) - ascii(substr(b, j, 1)); END IF;
        i := i + 1; j := j + 1;
      END LOOP;
      IF substr(a, i, 1) ~ '[0-9]' THEN RETURN 1; END IF;
      IF substr(b, j, 1) ~ '[0-9]' THEN RETURN -1; END IF;
      IF first_diff <> 0 THEN RETURN first_diff; END IF;
    END LOOP;
    RETURN 0;
  END $$;

  -- [epoch:]upstream[-revision]: epoch before the first ':', revision after the last '-'
  CREATE FUNCTION gk_dpkg_vercmp(a text, b text) RETURNS integer IMMUTABLE STRICT PARALLEL SAFE LANGUAGE plpgsql AS $$
  DECLARE
    v text[] := ARRAY[regexp_replace(a, '^\\s+|\\s+$', '', 'g'), regexp_replace(b, '^\\s+|\\s+$', '', 'g')];
    e numeric[] := ARRAY[0, 0];
    u text[] := ARRAY['', ''];
    r text[] := ARRAY['', ''];
    rest text; c int; k int; res int;
  BEGIN
    FOR k IN 1..2 LOOP
      c := strpos(v[k], ':');
      IF c > 1 AND left(v[k], c - 1) ~ '^[0-9]+$' THEN e[k] := left(v[k], c - 1)::numeric; END IF;
      rest := CASE WHEN c > 0 THEN substr(v[k], c + 1) ELSE v[k] END;
      IF strpos(rest, '-') > 0 THEN
        u[k] := substring(rest from '^(.*)-[^-]*$');
        r[k] := substring(rest from '-([^-]*)$');
      ELSE
        u[k] := rest;
      END IF;
    END LOOP;
    IF e[1] <> e[2] THEN RETURN sign(e[1] - e[2])::int; END IF;
    res := gk_dpkg_part(u[1], u[2]);
    IF res <> 0 THEN RETURN res; END IF;
    RETURN gk_dpkg_part(r[1], r[2]);
  END $$;

  -- rpmvercmp over one part (version or release), with ~ and ^
  CREATE FUNCTION gk_rpm_part(a text, b text) RETURNS integer IMMUTABLE STRICT PARALLEL SAFE LANGUAGE plpgsql AS $$
  DECLARE
    i int := 1; j int := 1; la int := length(a); lb int := length(b);
    ca text; cb text; num boolean; sa text; sb text; ei int; ej int;
  BEGIN
    IF a = b THEN RETURN 0; END IF;
    WHILE i <= la OR j <= lb LOOP
      WHILE i <= la AND substr(a, i, 1) !~ '[A-Za-z0-9~^]' LOOP i := i + 1; END LOOP;
      WHILE j <= lb AND substr(b, j, 1) !~ '[A-Za-z0-9~^]' LOOP j := j + 1; END LOOP;
      ca := substr(a, i, 1); cb := substr(b, j, 1);
      IF ca = '~' OR cb = '~' THEN
        IF ca <> '~' THEN RETURN 1; END IF;
        IF cb <> '~' THEN RETURN -1; END IF;
        i := i + 1; j := j + 1;
        CONTINUE;
      END IF;
      IF ca = '^' OR cb = '^' THEN
        IF i > la THEN RETURN -1; END IF;
        IF j > lb THEN RETURN 1; END IF;
        IF ca <> '^' THEN RETURN 1; END IF;
        IF cb <> '^' THEN RETURN -1; END IF;
        i := i + 1; j := j + 1;
        CONTINUE;
      END IF;
      EXIT WHEN NOT (i <= la AND j <= lb);
      num := ca ~ '[0-9]';
      sa := coalesce(substring(substr(a, i) from CASE WHEN num THEN '^[0-9]+' ELSE '^[A-Za-z]+' END), '');
      sb := coalesce(substring(substr(b, j) from CASE WHEN num THEN '^[0-9]+' ELSE '^[A-Za-z]+' END), '');
      ei := i + length(sa); ej := j + length(sb);
      -- numeric segments are newer than alpha ones
      IF sb = '' THEN RETURN CASE WHEN num THEN 1 ELSE -1 END; END IF;
      IF num THEN
        sa := ltrim(sa, '0'); sb := ltrim(sb, '0');
        IF length(sa) <> length(sb) THEN RETURN CASE WHEN length(sa) > length(sb) THEN 1 ELSE -1 END; END IF;
      END IF;
      IF sa <> sb THEN RETURN CASE WHEN sa COLLATE "C" < sb COLLATE "C" THEN -1 ELSE 1 END; END IF;
      i := ei; j := ej;
    END LOOP;
    IF i > la AND j > lb THEN RETURN 0; END IF;
    RETURN CASE WHEN i > la THEN -1 ELSE 1 END;
  END $$;

  -- [epoch:]version[-release] of rpm and pacman as {epoch ('0' when missing), version, release (NULL when missing)}
  CREATE FUNCTION gk_evr(v text) RETURNS text[] IMMUTABLE STRICT PARALLEL SAFE LANGUAGE plpgsql AS $$
  DECLARE
    m text := substring(v from '^([0-9]*):');
    rest text := CASE WHEN m IS NULL THEN v ELSE substr(v, length(m) + 2) END;
  BEGIN
    RETURN ARRAY[
      CASE WHEN m IS NULL OR m = '' THEN '0' ELSE m END,
      CASE WHEN strpos(rest, '-') > 0 THEN substring(rest from '^(.*)-[^-]*$') ELSE rest END,
      CASE WHEN strpos(rest, '-') > 0 THEN substring(rest from '-([^-]*)$') END
    ];
  END $$;

  -- [epoch:]version[-release] as rpm.vercmp: epoch 0 when missing, a missing release sorts first
  CREATE FUNCTION gk_rpm_vercmp(a text, b text) RETURNS integer IMMUTABLE STRICT PARALLEL SAFE LANGUAGE plpgsql AS $$
  DECLARE
    x text[] := gk_evr(a);
    y text[] := gk_evr(b);
    e text[] := ARRAY[x[1], y[1]];
    ver text[] := ARRAY[x[2], y[2]];
    rel text[] := ARRAY[x[3], y[3]];
    res int;
  BEGIN
    res := gk_rpm_part(e[1], e[2]);
    IF res <> 0 THEN RETURN res; END IF;
    res := gk_rpm_part(ver[1], ver[2]);
    IF res <> 0 THEN RETURN res; END IF;
    IF rel[1] IS NULL OR rel[2] IS NULL THEN RETURN (rel[1] IS NOT NULL)::int - (rel[2] IS NOT NULL)::int; END IF;
    RETURN gk_rpm_part(rel[1], rel[2]);
  END $$;

  -- libalpm's rpmvercmp (rpm's older one): no ~ or ^, separator runs of different length decide,
  -- and a trailing letter segment loses to the end
  CREATE FUNCTION gk_alpm_part(a text, b text) RETURNS integer IMMUTABLE STRICT PARALLEL SAFE LANGUAGE plpgsql AS $$
  DECLARE
    one int := 1; two int := 1; p1 int := 1; p2 int := 1; la int := length(a); lb int := length(b);
    num boolean; sa text; sb text;
  BEGIN
    IF a = b THEN RETURN 0; END IF;
    WHILE one <= la AND two <= lb LOOP
      WHILE one <= la AND substr(a, one, 1) !~ '[A-Za-z0-9]' LOOP one := one + 1; END LOOP;
      WHILE two <= lb AND substr(b, two, 1) !~ '[A-Za-z0-9]' LOOP two := two + 1; END LOOP;
      EXIT WHEN NOT (one <= la AND two <= lb);
      IF one - p1 <> two - p2 THEN RETURN CASE WHEN one - p1 < two - p2 THEN -1 ELSE 1 END; END IF;
      num := substr(a, one, 1) ~ '[0-9]';
      sa := coalesce(substring(substr(a, one) from CASE WHEN num THEN '^[0-9]+' ELSE '^[A-Za-z]+' END), '');
      sb := coalesce(substring(substr(b, two) from CASE WHEN num THEN '^[0-9]+' ELSE '^[A-Za-z]+' END), '');
      p1 := one + length(sa); p2 := two + length(sb);
      IF sb = '' THEN RETURN CASE WHEN num THEN 1 ELSE -1 END; END IF;
      IF num THEN
        sa := ltrim(sa, '0'); sb := ltrim(sb, '0');
        IF length(sa) <> length(sb) THEN RETURN CASE WHEN length(sa) > length(sb) THEN 1 ELSE -1 END; END IF;
      END IF;
      IF sa <> sb THEN RETURN CASE WHEN sa COLLATE "C" < sb COLLATE "C" THEN -1 ELSE 1 END; END IF;
      one := p1; two := p2;
    END LOOP;
    IF one > la AND two > lb THEN RETURN 0; END IF;
    RETURN CASE WHEN (one > la AND substr(b, two, 1) !~ '[A-Za-z]') OR substr(a, one, 1) ~ '[A-Za-z]' THEN -1 ELSE 1 END;
  END $$;

  -- [epoch:]pkgver[-pkgrel] as alpm_pkg_vercmp: pkgrel compared only when both sides have one
  CREATE FUNCTION gk_pacman_vercmp(a text, b text) RETURNS integer IMMUTABLE STRICT PARALLEL SAFE LANGUAGE plpgsql AS $$
  DECLARE
    x text[] := gk_evr(a);
    y text[] := gk_evr(b);
    e text[] := ARRAY[x[1], y[1]];
    ver text[] := ARRAY[x[2], y[2]];
    rel text[] := ARRAY[x[3], y[3]];
    res int;
  BEGIN
    IF a = b THEN RETURN 0; END IF;
    res := gk_alpm_part(e[1], e[2]);
    IF res <> 0 THEN RETURN res; END IF;
    res := gk_alpm_part(ver[1], ver[2]);
    IF res <> 0 OR rel[1] IS NULL OR rel[2] IS NULL THEN RETURN res; END IF;
    RETURN gk_alpm_part(rel[1], rel[2]);
  END $$;

  -- apk-tools' tokens (src/versions/apk.ts): 0 initial digits, 1 digits, 2 letter, 3 suffix,
  -- 4 suffix number, 5 commit hash, 6 revision, 7 end, 8 invalid. The token after kind prev at pos.
  CREATE FUNCTION gk_apk_next(s text, pos int, prev int, OUT tok int, OUT val text, OUT suf int, OUT npos int)
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE plpgsql AS $$
  DECLARE
    c text := substr(s, pos, 1);
  BEGIN
    tok := 8; val := ''; suf := 0; npos := pos;
    IF pos > length(s) THEN tok := 7; RETURN; END IF;
    IF c ~ '^[a-z]$' THEN
      IF prev <= 1 THEN tok := 2; val := c; npos := pos + 1; END IF;
      RETURN;
    END IF;
    IF c = '.' OR c ~ '^[0-9]$' THEN
      IF c = '.' THEN
        IF prev > 1 THEN RETURN; END IF;
        npos := pos + 1;
      END IF;
      IF prev NOT IN (0, 1, 3) THEN RETURN; END IF;
      val := coalesce(substring(substr(s, npos) from '^[0-9]+'), '');
      npos := npos + length(val);
      tok := CASE WHEN val = '' THEN 8 WHEN prev = 3 THEN 4 ELSE 1 END;
      RETURN;
    END IF;
    IF c = '_' THEN
      IF prev > 4 THEN RETURN; END IF;
      val := coalesce(substring(substr(s, pos + 1) from '^[a-z]+'), '');
      suf := CASE val WHEN 'alpha' THEN 1 WHEN 'beta' THEN 2 WHEN 'pre' THEN 3 WHEN 'rc' THEN 4
        WHEN 'cvs' THEN 6 WHEN 'svn' THEN 7 WHEN 'git' THEN 8 WHEN 'hg' THEN 9 WHEN 'p' THEN 10 ELSE 0 END;
      IF suf > 0 THEN tok := 3; npos := pos + 1 + length(val); END IF;
      RETURN;
    END IF;
    IF c = '~' THEN
      IF prev >= 5 THEN RETURN; END IF;
      val := coalesce(substring(substr(s, pos + 1) from '^[0-9a-fA-F]+'), '');
      IF val <> '' THEN tok := 5; npos := pos + 1 + length(val); END IF;
      RETURN;
    END IF;
    IF c = '-' AND prev < 6 AND substr(s, pos + 1, 1) = 'r' THEN
      val := coalesce(substring(substr(s, pos + 2) from '^[0-9]+'), '');
      IF val <> '' THEN tok := 6; npos := pos + 2 + length(val); END IF;
    END IF;
  END $$;

  -- numbers of any length by value
  CREATE FUNCTION gk_num_cmp(a text, b text) RETURNS integer IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql AS $$
    SELECT CASE
      WHEN length(ltrim(a, '0')) <> length(ltrim(b, '0')) THEN sign(length(ltrim(a, '0')) - length(ltrim(b, '0')))::int
      WHEN ltrim(a, '0') COLLATE "C" < ltrim(b, '0') COLLATE "C" THEN -1
      WHEN ltrim(a, '0') COLLATE "C" > ltrim(b, '0') COLLATE "C" THEN 1
      ELSE 0 END
  $$;

  -- apk version -t: token by token; when one runs out, the longer is newer unless it goes on with a pre-release suffix
  CREATE FUNCTION gk_apk_vercmp(a text, b text) RETURNS integer IMMUTABLE STRICT PARALLEL SAFE LANGUAGE plpgsql AS $$
  DECLARE
    at int; av text; asuf int := 0; ap int;
    bt int; bv text; bsuf int := 0; bp int;
    r int;
  BEGIN
    av := coalesce(substring(a from '^[0-9]+'), ''); at := CASE WHEN av = '' THEN 8 ELSE 0 END; ap := 1 + length(av);
    bv := coalesce(substring(b from '^[0-9]+'), ''); bt := CASE WHEN bv = '' THEN 8 ELSE 0 END; bp := 1 + length(bv);
    WHILE at = bt AND at < 7 LOOP
      r := CASE
        WHEN at = 1 AND (left(av, 1) = '0' OR left(bv, 1) = '0') THEN
          CASE WHEN av COLLATE "C" < bv COLLATE "C" THEN -1 WHEN av COLLATE "C" > bv COLLATE "C" THEN 1 ELSE 0 END
        WHEN at IN (0, 1, 4, 6) THEN gk_num_cmp(av, bv)
        WHEN at = 3 THEN sign(asuf - bsuf)::int
        ELSE CASE WHEN av COLLATE "C" < bv COLLATE "C" THEN -1 WHEN av COLLATE "C" > bv COLLATE "C" THEN 1 ELSE 0 END
      END;
      IF r <> 0 THEN RETURN r; END IF;
      SELECT n.tok, n.val, n.suf, n.npos INTO at, av, asuf, ap FROM gk_apk_next(a, ap, at) n;
      SELECT n.tok, n.val, n.suf, n.npos INTO bt, bv, bsuf, bp FROM gk_apk_next(b, bp, bt) n;
    END LOOP;
    IF at = bt THEN RETURN 0; END IF;
    IF at = 3 AND asuf < 5 THEN RETURN -1; END IF;
    IF bt = 3 AND bsuf < 5 THEN RETURN 1; END IF;
    RETURN CASE WHEN at > bt THEN -1 ELSE 1 END;
  END $$;

  CREATE FUNCTION gk_vercmp(eco text, a text, b text) RETURNS integer IMMUTABLE PARALLEL SAFE LANGUAGE sql AS $$
    SELECT CASE eco
      WHEN 'dpkg' THEN sign(gk_dpkg_vercmp(a, b))::int
      WHEN 'rpm' THEN sign(gk_rpm_vercmp(a, b))::int
      WHEN 'pacman' THEN sign(gk_pacman_vercmp(a, b))::int
      WHEN 'apk' THEN sign(gk_apk_vercmp(a, b))::int
    END
  $$;
`;

/** The ecosystems gk_vercmp orders in the database. */
export const PG_ORDERED_ECOSYSTEMS = ['dpkg', 'rpm', 'pacman', 'apk'] as const;
