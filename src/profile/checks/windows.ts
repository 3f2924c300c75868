import type { CheckInput, EvaluatorInput, Expect, ProfileName, Severity } from '../types.js';

/**
 * The Windows check catalogue: registry values read from the SOFTWARE, SYSTEM and SAM hives.
 * Where Group Policy and the local setting can both hold a value, the policy key is listed
 * first (it wins on a running system). `default` is Windows' behaviour when no key sets it.
 */

const SEC: ProfileName[] = ['security', 'hardening'];

function w(id: string, title: string, severity: Severity, evaluator: EvaluatorInput, rationale: string, remediation: string, profiles: ProfileName[] = SEC, references?: string[]): CheckInput {
  return { id: `windows.${id}`, title, severity, rationale, remediation, families: ['windows'], profiles, evaluator, ...(references ? { references } : {}) };
}

const reg = (hive: 'SOFTWARE' | 'SYSTEM', sources: [string, string][], expect: Expect, def?: string | number): EvaluatorInput => ({
  type: 'registry',
  hive,
  sources: sources.map(([key, value]) => ({ key, value })),
  expect,
  ...(def !== undefined ? { default: def } : {}),
});

const FW_POLICY = 'Policies\\Microsoft\\WindowsFirewall';
const FW_LOCAL = 'CurrentControlSet\\Services\\SharedAccess\\Parameters\\FirewallPolicy';
/** The local firewall settings (SYSTEM); the policy values that can override them are checked on their own below. */
const firewall = (['Domain', 'Private', 'Public'] as const).flatMap((p) => {
  const key = `${FW_LOCAL}\\${p === 'Private' ? 'StandardProfile' : `${p}Profile`}`;
  const id = p.toLowerCase();
  return [
    w(`firewall.${id}_enabled`, `Windows Firewall is on for the ${p} profile`, 'high', reg('SYSTEM', [[key, 'EnableFirewall']], { eq: 1 }), `With the ${p} profile off, every listening service is reachable on those networks.`, `Set-NetFirewallProfile -Profile ${p} -Enabled True`),
    w(`firewall.${id}_inbound_block`, `Inbound connections are blocked by default (${p} profile)`, 'medium', reg('SYSTEM', [[key, 'DefaultInboundAction']], { eq: 1 }, 1), 'Inbound traffic should need an explicit rule.', `Set-NetFirewallProfile -Profile ${p} -DefaultInboundAction Block`),
  ];
});
/** Firewall: the GPO value (SOFTWARE\Policies) overrides the local one (SYSTEM); both are checked. */
const firewallPolicy = (['Domain', 'Private', 'Public'] as const).map((p) =>
  w(`firewall.${p.toLowerCase()}_policy_not_off`, `Group Policy does not turn the firewall off (${p} profile)`, 'high', reg('SOFTWARE', [[`${FW_POLICY}\\${p}Profile`, 'EnableFirewall']], { ne: 0 }, 'not configured'), 'A policy value of 0 switches the profile off whatever the local setting says.', `Remove or set to 1: HKLM\\SOFTWARE\\${FW_POLICY}\\${p}Profile\\EnableFirewall`),
);

const LSA = 'CurrentControlSet\\Control\\Lsa';
const SYS_POL = 'Microsoft\\Windows\\CurrentVersion\\Policies\\System';
const TS = 'CurrentControlSet\\Control\\Terminal Server';
const TS_POL = 'Policies\\Microsoft\\Windows NT\\Terminal Services';

const checks: CheckInput[] = [
  ...firewall,
  ...firewallPolicy,
  // Defender
  w('defender.not_disabled', 'Microsoft Defender Antivirus is not disabled by policy', 'high', reg('SOFTWARE', [['Policies\\Microsoft\\Windows Defender', 'DisableAntiSpyware'], ['Microsoft\\Windows Defender', 'DisableAntiSpyware']], { ne: 1 }, 0), 'With Defender off and no other antivirus, malware runs unchecked.', 'Remove DisableAntiSpyware (GPO: Turn off Microsoft Defender Antivirus → Disabled)'),
  w('defender.realtime_on', 'Defender real-time protection is on', 'high', reg('SOFTWARE', [['Policies\\Microsoft\\Windows Defender\\Real-Time Protection', 'DisableRealtimeMonitoring'], ['Microsoft\\Windows Defender\\Real-Time Protection', 'DisableRealtimeMonitoring']], { ne: 1 }, 0), 'Without real-time protection files are only scanned on demand.', 'Set-MpPreference -DisableRealtimeMonitoring $false'),
  // UAC
  w('uac.enabled', 'User Account Control is on', 'high', reg('SOFTWARE', [[SYS_POL, 'EnableLUA']], { eq: 1 }, 1), 'Without UAC every administrator process runs with the full token.', 'EnableLUA = 1 (GPO: Run all administrators in Admin Approval Mode → Enabled)'),
  w('uac.admin_prompt', 'UAC asks administrators for consent on the secure desktop', 'medium', reg('SOFTWARE', [[SYS_POL, 'ConsentPromptBehaviorAdmin']], { in: [1, 2] }, 5), 'Silent elevation (0) lets malware become administrator without a prompt.', 'ConsentPromptBehaviorAdmin = 2'),
  w('uac.secure_desktop', 'UAC prompts on the secure desktop', 'medium', reg('SOFTWARE', [[SYS_POL, 'PromptOnSecureDesktop']], { eq: 1 }, 1), 'On the normal desktop other processes can click the prompt.', 'PromptOnSecureDesktop = 1'),
  w('uac.builtin_admin_approval', 'The built-in Administrator runs in Admin Approval Mode', 'medium', reg('SOFTWARE', [[SYS_POL, 'FilterAdministratorToken']], { eq: 1 }, 0), 'Otherwise the built-in Administrator bypasses UAC entirely.', 'FilterAdministratorToken = 1'),
  w('logon.dont_display_last_user', 'The logon screen does not show the last user name', 'low', reg('SOFTWARE', [[SYS_POL, 'DontDisplayLastUserName']], { eq: 1 }, 0), 'A shown user name is half of a login.', 'DontDisplayLastUserName = 1'),
  w('logon.inactivity_timeout', 'The session locks after at most 15 minutes idle', 'low', reg('SOFTWARE', [[SYS_POL, 'InactivityTimeoutSecs']], { min: 1, max: 900 }), 'An unattended unlocked console is open to anyone passing.', 'InactivityTimeoutSecs = 900'),
  w('logon.legal_notice', 'A logon legal notice is shown', 'low', reg('SOFTWARE', [[SYS_POL, 'LegalNoticeText']], { nonempty: true }), 'A notice states that use is monitored.', 'Set LegalNoticeCaption and LegalNoticeText'),
  w('logon.no_autologon', 'Automatic logon is off', 'critical', reg('SOFTWARE', [['Microsoft\\Windows NT\\CurrentVersion\\Winlogon', 'AutoAdminLogon']], { ne: '1' }, '0'), 'Auto logon opens a session for anyone at the console, with the password stored in the registry.', 'AutoAdminLogon = 0 and delete DefaultPassword'),
  w('logon.no_stored_password', 'No logon password is stored in the registry', 'critical', { type: 'registry_key', hive: 'SOFTWARE', keys: ['Microsoft\\Windows NT\\CurrentVersion\\Winlogon'], value: 'DefaultPassword', expect: 'absent' }, 'DefaultPassword holds a clear-text password readable from the image.', 'Delete HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\DefaultPassword'),
  // RDP
  w('rdp.nla_required', 'Remote Desktop requires Network Level Authentication', 'high', reg('SYSTEM', [[`${TS}\\WinStations\\RDP-Tcp`, 'UserAuthentication']], { eq: 1 }, 0), 'Without NLA the logon screen is exposed to the network before authentication (BlueKeep-class bugs, brute force).', 'UserAuthentication = 1 (System Properties → Remote → Allow connections only with NLA)'),
  w('rdp.nla_policy', 'Group Policy does not switch NLA off', 'high', reg('SOFTWARE', [[TS_POL, 'UserAuthentication']], { ne: 0 }, 'not configured'), 'A policy value of 0 removes NLA whatever the local setting.', 'Remove or set to 1: HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services\\UserAuthentication'),
  w('rdp.tls_security_layer', 'Remote Desktop uses TLS', 'medium', reg('SYSTEM', [[`${TS}\\WinStations\\RDP-Tcp`, 'SecurityLayer']], { eq: 2 }, 1), 'The RDP security layer (0) is not authenticated against man-in-the-middle.', 'SecurityLayer = 2'),
  w('rdp.encryption_high', 'Remote Desktop encryption is High', 'low', reg('SYSTEM', [[`${TS}\\WinStations\\RDP-Tcp`, 'MinEncryptionLevel']], { min: 3 }, 2), 'Lower levels allow weaker RDP encryption.', 'MinEncryptionLevel = 3'),
  w('rdp.disabled', 'Remote Desktop is off unless needed', 'info', reg('SYSTEM', [[TS, 'fDenyTSConnections']], { eq: 1 }, 1), 'Every enabled remote entry point is attack surface.', 'fDenyTSConnections = 1 where RDP is not used', ['hardening']),
  // SMB, name resolution, credentials
  w('smb.v1_server_off', 'The SMBv1 server is off', 'high', reg('SYSTEM', [['CurrentControlSet\\Services\\LanmanServer\\Parameters', 'SMB1']], { eq: 0 }, 1), 'SMBv1 carries EternalBlue-class vulnerabilities and no encryption.', 'Set-SmbServerConfiguration -EnableSMB1Protocol $false (SMB1 = 0)'),
  w('smb.v1_client_off', 'The SMBv1 client driver is disabled', 'high', reg('SYSTEM', [['CurrentControlSet\\Services\\mrxsmb10', 'Start']], { eq: 4 }, 4), 'The SMBv1 client lets a malicious server attack this host.', 'sc.exe config mrxsmb10 start= disabled (Start = 4)'),
  w('smb.server_signing', 'The SMB server requires signing', 'medium', reg('SYSTEM', [['CurrentControlSet\\Services\\LanmanServer\\Parameters', 'RequireSecuritySignature']], { eq: 1 }, 0), 'Unsigned SMB can be relayed and tampered with.', 'RequireSecuritySignature = 1'),
  w('smb.client_signing', 'The SMB client requires signing', 'medium', reg('SYSTEM', [['CurrentControlSet\\Services\\LanmanWorkstation\\Parameters', 'RequireSecuritySignature']], { eq: 1 }, 0), 'Unsigned SMB can be relayed and tampered with.', 'RequireSecuritySignature = 1'),
  w('network.llmnr_off', 'LLMNR is off', 'medium', reg('SOFTWARE', [['Policies\\Microsoft\\Windows NT\\DNSClient', 'EnableMulticast']], { eq: 0 }, 1), 'LLMNR answers from any host on the segment are trusted, which leaks NTLM hashes (Responder).', 'GPO: Turn off multicast name resolution → Enabled (EnableMulticast = 0)'),
  w('credentials.wdigest_off', 'WDigest does not keep clear-text passwords', 'high', reg('SYSTEM', [['CurrentControlSet\\Control\\SecurityProviders\\WDigest', 'UseLogonCredential']], { eq: 0 }, 0), 'With UseLogonCredential = 1, LSASS keeps passwords in clear text for Mimikatz to read.', 'UseLogonCredential = 0'),
  w('credentials.no_lm_hash', 'LM hashes are not stored', 'high', reg('SYSTEM', [[LSA, 'NoLMHash']], { eq: 1 }, 1), 'LM hashes are cracked in seconds.', 'NoLMHash = 1'),
  w('credentials.ntlmv2_only', 'Only NTLMv2 is sent; LM and NTLM are refused', 'medium', reg('SYSTEM', [[LSA, 'LmCompatibilityLevel']], { eq: 5 }, 3), 'LM and NTLMv1 responses are easily cracked or relayed.', 'LmCompatibilityLevel = 5'),
  w('credentials.restrict_anonymous', 'Anonymous enumeration of shares is refused', 'medium', reg('SYSTEM', [[LSA, 'RestrictAnonymous']], { eq: 1 }, 0), 'Anonymous sessions reveal shares and accounts.', 'RestrictAnonymous = 1'),
  w('credentials.restrict_anonymous_sam', 'Anonymous enumeration of accounts is refused', 'medium', reg('SYSTEM', [[LSA, 'RestrictAnonymousSAM']], { eq: 1 }, 1), 'Anonymous sessions reveal account names.', 'RestrictAnonymousSAM = 1'),
  w('credentials.lsa_protection', 'LSA runs as a protected process', 'medium', reg('SYSTEM', [[LSA, 'RunAsPPL']], { in: [1, 2] }, 0), 'A protected LSASS cannot be read by non-protected processes, even administrators.', 'RunAsPPL = 1'),
  w('audit.subcategories_forced', 'Audit policy subcategories override the legacy categories', 'low', reg('SYSTEM', [[LSA, 'SCENoApplyLegacyAuditPolicy']], { eq: 1 }, 0), 'Without it, legacy category settings can silently override the detailed audit policy.', 'SCENoApplyLegacyAuditPolicy = 1', ['hardening', 'security']),
  w('audit.powershell_script_block', 'PowerShell script block logging is on', 'medium', reg('SOFTWARE', [['Policies\\Microsoft\\Windows\\PowerShell\\ScriptBlockLogging', 'EnableScriptBlockLogging']], { eq: 1 }), 'Script block logs show what PowerShell actually ran, de-obfuscated.', 'GPO: Turn on PowerShell Script Block Logging → Enabled'),
  w('audit.security_log_size', 'The Security event log holds at least 192 MB', 'low', reg('SOFTWARE', [['Policies\\Microsoft\\Windows\\EventLog\\Security', 'MaxSize']], { min: 196608 }), 'A small log is overwritten before anyone reads it.', 'GPO: Security log maximum size (KB) → 196608'),
  w('system.autorun_off', 'AutoRun is off for every drive type', 'medium', reg('SOFTWARE', [['Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer', 'NoDriveTypeAutoRun']], { eq: 255 }, 145), 'AutoRun starts programs from inserted media.', 'NoDriveTypeAutoRun = 255'),
  w('system.winrm_no_basic', 'WinRM refuses Basic authentication', 'medium', reg('SOFTWARE', [['Policies\\Microsoft\\Windows\\WinRM\\Service', 'AllowBasic']], { eq: 0 }, 0), 'Basic authentication sends credentials in a reversible form.', 'AllowBasic = 0'),
  w('system.remote_registry_disabled', 'The Remote Registry service is disabled', 'medium', reg('SYSTEM', [['CurrentControlSet\\Services\\RemoteRegistry', 'Start']], { eq: 4 }, 4), 'Remote Registry lets the network read and change the registry.', 'sc.exe config RemoteRegistry start= disabled'),
  w('updates.automatic', 'Automatic updates are not switched off by policy', 'high', reg('SOFTWARE', [['Policies\\Microsoft\\Windows\\WindowsUpdate\\AU', 'NoAutoUpdate']], { ne: 1 }, 0), 'A guest that never updates accumulates known vulnerabilities.', 'Remove NoAutoUpdate (or set 0)'),
  // accounts and password policy (SAM)
  w('accounts.guest_disabled', 'The Guest account is disabled', 'high', { type: 'sam_account_disabled', rid: 501 }, 'Guest logs on without a password.', 'net user Guest /active:no'),
  w('password.min_length', 'Passwords have at least 14 characters', 'medium', { type: 'sam_policy', field: 'min_password_length', expect: { min: 14 } }, 'Short passwords are guessed or cracked quickly.', 'net accounts /minpwlen:14 (GPO: Minimum password length)'),
  w('password.complexity', 'Password complexity is required', 'medium', { type: 'sam_policy', field: 'complexity', expect: { eq: 1 } }, 'Complexity rules exclude the most common passwords.', 'secpol: Password must meet complexity requirements → Enabled'),
  w('password.history', 'The last 24 passwords are remembered', 'low', { type: 'sam_policy', field: 'password_history', expect: { min: 24 } }, 'Without history users rotate back to an old password.', 'net accounts /uniquepw:24'),
  w('password.lockout_threshold', 'Accounts lock after at most 5 failed logons', 'medium', { type: 'sam_policy', field: 'lockout_threshold', expect: { min: 1, max: 5 } }, 'Without a lockout, passwords can be guessed online.', 'net accounts /lockoutthreshold:5'),
  w('password.max_age', 'Passwords expire within 365 days', 'low', { type: 'sam_policy', field: 'max_password_age_days', expect: { min: 1, max: 365 } }, 'A password that never expires stays valid after it leaks.', 'net accounts /maxpwage:365'),
  // state of the image
  w('state.no_pending_reboot', 'No reboot is pending', 'medium', { type: 'registry_key', hive: 'SOFTWARE', keys: ['Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending', 'Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\RebootRequired'], expect: 'absent' }, 'Updates waiting for a reboot are not in effect; moving or cloning the image now can leave it half-updated.', 'Reboot the guest before capturing or migrating the image.', ['security', 'hardening', 'performance']),
  w('state.no_pending_file_renames', 'No file replacement is pending', 'low', { type: 'registry_key', hive: 'SYSTEM', keys: ['CurrentControlSet\\Control\\Session Manager'], value: 'PendingFileRenameOperations', expect: 'absent' }, 'Files queued for replacement at boot mean an installation is unfinished.', 'Reboot the guest before capturing or migrating the image.', ['hardening', 'performance']),
  w('performance.guest_tools', 'Hypervisor guest tools are installed', 'info', { type: 'registry_key', hive: 'SYSTEM', keys: ['CurrentControlSet\\Services\\QEMU-GA', 'CurrentControlSet\\Services\\VMTools', 'CurrentControlSet\\Services\\xenagent', 'CurrentControlSet\\Services\\VBoxService'], expect: 'present' }, 'Guest tools give clean shutdown, time sync and paravirtual drivers.', 'Install the guest agent for the hypervisor (qemu-guest-agent / VMware Tools / Hyper-V integration services).', ['performance']),
  w('performance.virtio_storage', 'A paravirtual (virtio) storage driver is installed', 'info', { type: 'registry_key', hive: 'SYSTEM', keys: ['CurrentControlSet\\Services\\viostor', 'CurrentControlSet\\Services\\vioscsi'], expect: 'present' }, 'Emulated IDE/SATA disks are much slower than virtio on KVM.', 'Install the virtio-win drivers (viostor / vioscsi).', ['performance']),
];

export const WINDOWS_CHECKS: CheckInput[] = checks;
