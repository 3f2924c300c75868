/** One partition of a disk, as the partition-table readers report it. Offsets are bytes. */
export interface Partition {
  /** Linux numbering: MBR primaries 1–4, logicals from 5; GPT entry index + 1. */
  number: number;
  start: number;
  size: number;
  /** MBR: the type byte in hex as sfdisk prints it ('83', 'c'); GPT: the type GUID. */
  type: string;
  /** Well-known name of the type ('Linux filesystem', 'EFI System'), when known. */
  type_name?: string;
  type_guid?: string;
  /** GPT partition name. */
  name?: string;
  /** GPT unique GUID; MBR 'SSSSSSSS-NN' (disk signature and number), as Linux/blkid give it. */
  partuuid?: string;
  /** MBR boot flag (0x80); GPT attribute bit 2 (legacy BIOS bootable). */
  bootable?: boolean;
  /** GPT attribute bits as 16 hex digits, as `sgdisk -i` prints them. */
  attributes?: string;
  /** MBR extended container (its logical partitions are listed separately). */
  extended?: boolean;
  logical?: boolean;
  scheme: 'mbr' | 'gpt';
}

export interface PartitionTable {
  scheme: 'mbr' | 'gpt';
  sectorSize: number;
  /** MBR disk signature as '0x1234abcd' (sfdisk form); GPT disk GUID. */
  id: string;
  partitions: Partition[];
  /** Damage that was worked around (backup GPT used, partition truncated, …). */
  warnings: string[];
  firstUsableLba?: number;
  lastUsableLba?: number;
  /** GPT read from the backup header because the primary was damaged. */
  usedBackup?: boolean;
}
