/** Linux software RAID (md): superblocks 0.90 and 1.x, arrays as block devices. */
export { assembleMd, type MdArray, type MdMember } from './assemble.js';
export { findMdSuperblock, isRaidPartitionType, mdProbeResult, wantsMdProbe } from './probe.js';
export { type MdSuperblock, type MdVersion, blkidUuid, levelName, mdadmUuid, parseSuperblock090, parseSuperblock1 } from './superblock.js';
