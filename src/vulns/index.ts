/** Offline vulnerability matching: OSV advisories in a local SQLite database, matched against inspected packages. */
export { AdvisoryDb, defaultAdvisoryDbPath } from './db.js';
export { osvEcosystemOf, type OsEcosystem } from './ecosystem.js';
export { importAdvisories, type ImportSummary, type MalformedEntry } from './importer.js';
export { parseOsvRecord, OsvRecordSchema, type OsvRecord } from './osv.js';
export { matchAffected, matchRange, type RangeMatch } from './ranges.js';
export { DEFAULT_MAX_AGE_DAYS, scanInspection, type OsVulnReport, type ScanOptions, type VulnFinding, type VulnScan } from './scan.js';
export { SEVERITY_LEVELS, cvss3BaseScore, type SeverityLevel } from './severity.js';
export { vulnsText } from './text.js';
export { imagesAffectedBy, type StoredInspection, type VulnerabilityInventory } from './inventory.js';
