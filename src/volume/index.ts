/** The volume layer: partition tables, LVM2, signature probing and the guest's device list. */
export { enumerateVolumes, diskName, mapperName, type VolumeEntry, type VolumeEnumeration } from './enumerate.js';
export { readPartitionTable } from './table.js';
export { readMbr, parseMbrSector } from './mbr.js';
export { readGpt } from './gpt.js';
export type { Partition, PartitionTable } from './partition.js';
export { probe, type ProbeResult, type Usage } from './probe.js';
export { scanLvm, type LvmScan, type VolumeGroup, type LogicalVolume, type PhysicalVolume } from './lvm/scan.js';
export { SliceDevice } from './slice.js';
export { scanLdm, ldmVolumeDeviceName, type LdmScan, type LdmVolumeInfo } from './ldm/index.js';
