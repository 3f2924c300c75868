/** Windows dynamic disks (LDM): the group database and its volumes as block devices. */
export { parsePrivhead, type Privhead } from './privhead.js';
export { parseDatabase, type LdmDatabase } from './database.js';
export { buildGroup, type LdmGroupModel, type LdmVolume, type LdmVolumeType } from './group.js';
export { parseVblkRecord, type VblkRecord } from './vblk.js';
export { isLdmPartitionType, ldmVolumeDeviceName, privheadOffset, scanLdm, type LdmCandidate, type LdmScan, type LdmVolumeInfo } from './scan.js';
export { LdmVolumeDevice, ldmVolumeGuid } from './volume-device.js';
