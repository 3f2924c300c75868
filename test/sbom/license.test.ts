import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spdxExpression } from '../../src/sbom/license.js';

test('licence text → SPDX expression: identifiers in canonical case, operators upper-case; free text and broken expressions are none', () => {
  const rows: [string, string | undefined][] = [
    ['MIT', 'MIT'],
    ['mit', 'MIT'],
    ['GPL-2.0-or-later', 'GPL-2.0-or-later'],
    ['GPL-2.0-only AND GPL-2.0-or-later AND LGPL-2.1-or-later AND MIT', 'GPL-2.0-only AND GPL-2.0-or-later AND LGPL-2.1-or-later AND MIT'],
    ['MIT AND (LGPL-2.1-or-later OR BSD-3-Clause)', 'MIT AND (LGPL-2.1-or-later OR BSD-3-Clause)'],
    ['Apache-2.0 or mit', 'Apache-2.0 OR MIT'],
    ['GPL-2.0+ WITH Classpath-exception-2.0', 'GPL-2.0+ WITH Classpath-exception-2.0'],
    // rpm's Fedora-style short names before the SPDX switch, pacman's bare families: free text
    ['GPLv2+', undefined],
    ['GPL', undefined],
    ['BSD-like', undefined],
    ['MIT AND', undefined],
    ['(MIT', undefined],
    ['MIT)', undefined],
    ['MIT WITH', undefined],
    ['', undefined],
  ];
  for (const [text, want] of rows) assert.equal(spdxExpression(text), want, JSON.stringify(text));
});
