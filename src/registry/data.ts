/** Registry value types (winnt.h). */
export const REG_NONE = 0;
export const REG_SZ = 1;
export const REG_EXPAND_SZ = 2;
export const REG_BINARY = 3;
export const REG_DWORD = 4;
export const REG_DWORD_BIG_ENDIAN = 5;
export const REG_LINK = 6;
export const REG_MULTI_SZ = 7;
export const REG_RESOURCE_LIST = 8;
export const REG_FULL_RESOURCE_DESCRIPTOR = 9;
export const REG_RESOURCE_REQUIREMENTS_LIST = 10;
export const REG_QWORD = 11;

const NAMES = [
  'REG_NONE',
  'REG_SZ',
  'REG_EXPAND_SZ',
  'REG_BINARY',
  'REG_DWORD',
  'REG_DWORD_BIG_ENDIAN',
  'REG_LINK',
  'REG_MULTI_SZ',
  'REG_RESOURCE_LIST',
  'REG_FULL_RESOURCE_DESCRIPTOR',
  'REG_RESOURCE_REQUIREMENTS_LIST',
  'REG_QWORD',
];

export function typeName(type: number): string {
  return NAMES[type] ?? `REG_0x${type.toString(16)}`;
}

/** UTF-16LE text up to the first NUL unit (strings are usually stored with one, not always). */
export function decodeString(data: Buffer): string {
  const even = data.subarray(0, data.length & ~1);
  let end = even.length;
  for (let i = 0; i < even.length; i += 2) {
    if (even[i] === 0 && even[i + 1] === 0) {
      end = i;
      break;
    }
  }
  return even.toString('utf16le', 0, end);
}

/** REG_MULTI_SZ: NUL-separated strings ended by an empty one. */
export function decodeMultiString(data: Buffer): string[] {
  const text = data.subarray(0, data.length & ~1).toString('utf16le');
  const parts = text.split('\0');
  // the list ends at the first empty string (the double NUL)
  const end = parts.indexOf('');
  return end < 0 ? parts : parts.slice(0, end);
}
