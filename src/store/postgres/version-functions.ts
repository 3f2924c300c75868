/**
 * dpkg's, rpm's and pacman's version order as SQL functions, so that fleet queries filter versions in
 * the database (schema v2). Each is a transcription of src/versions/dpkg.ts, rpm.ts and pacman.ts and is
 * tested to order thousands of fixture-guest version pairs exactly as they do:
 *
 *   gk_vercmp('dpkg' | 'rpm' | 'pacman', a, b)  → -1, 0, 1 (NULL for apk, ordered by src/versions)
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

  -- [epoch:]version[-release] as rpm.vercmp: epoch 0 when missing, a missing release sorts first
  CREATE FUNCTION gk_rpm_vercmp(a text, b text) RETURNS integer IMMUTABLE STRICT PARALLEL SAFE LANGUAGE plpgsql AS $$
  DECLARE
    v text[] := ARRAY[a, b];
    e text[] := ARRAY['0', '0'];
    ver text[] := ARRAY['', ''];
    rel text[] := ARRAY[NULL, NULL]::text[];
    rest text; m text; k int; res int;
  BEGIN
    FOR k IN 1..2 LOOP
      m := substring(v[k] from '^([0-9]*):');
      IF m IS NOT NULL THEN
        e[k] := CASE WHEN m = '' THEN '0' ELSE m END;
        rest := substr(v[k], length(m) + 2);
      ELSE
        rest := v[k];
      END IF;
      IF strpos(rest, '-') > 0 THEN
        ver[k] := substring(rest from '^(.*)-[^-]*$');
        rel[k] := substring(rest from '-([^-]*)$');
      ELSE
        ver[k] := rest;
      END IF;
    END LOOP;
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
    v text[] := ARRAY[a, b];
    e text[] := ARRAY['0', '0'];
    ver text[] := ARRAY['', ''];
    rel text[] := ARRAY[NULL, NULL]::text[];
    rest text; m text; k int; res int;
  BEGIN
    IF a = b THEN RETURN 0; END IF;
    FOR k IN 1..2 LOOP
      m := substring(v[k] from '^([0-9]*):');
      IF m IS NOT NULL THEN
        e[k] := CASE WHEN m = '' THEN '0' ELSE m END;
        rest := substr(v[k], length(m) + 2);
      ELSE
        rest := v[k];
      END IF;
      IF strpos(rest, '-') > 0 THEN
        ver[k] := substring(rest from '^(.*)-[^-]*$');
        rel[k] := substring(rest from '-([^-]*)$');
      ELSE
        ver[k] := rest;
      END IF;
    END LOOP;
    res := gk_alpm_part(e[1], e[2]);
    IF res <> 0 THEN RETURN res; END IF;
    res := gk_alpm_part(ver[1], ver[2]);
    IF res <> 0 OR rel[1] IS NULL OR rel[2] IS NULL THEN RETURN res; END IF;
    RETURN gk_alpm_part(rel[1], rel[2]);
  END $$;

  CREATE FUNCTION gk_vercmp(eco text, a text, b text) RETURNS integer IMMUTABLE PARALLEL SAFE LANGUAGE sql AS $$
    SELECT CASE eco
      WHEN 'dpkg' THEN sign(gk_dpkg_vercmp(a, b))::int
      WHEN 'rpm' THEN sign(gk_rpm_vercmp(a, b))::int
      WHEN 'pacman' THEN sign(gk_pacman_vercmp(a, b))::int
    END
  $$;
`;

/** The ecosystems gk_vercmp orders in the database. */
export const PG_ORDERED_ECOSYSTEMS = ['dpkg', 'rpm', 'pacman'] as const;
