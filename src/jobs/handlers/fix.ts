import { FORMATS } from '../../disk/formats.js';
import { supportedFilesystems } from '../../fs/open.js';
import { planFix, refusal } from '../../fix/index.js';
import { FixPayloadSchema } from '../../protocol/payloads/fix.js';
import { defineHandler, type HandlerDefinition } from '../types.js';

/**
 * guestkit.fix: read-only. Returns a remediation plan (ordered steps as a shell script and as
 * Ansible tasks, each tied to the finding it fixes). A request to change the image (dry_run:
 * false, output.fixed_image, fsck / SELinux relabel / initramfs …) is refused with
 * UNSUPPORTED_OPERATION before its image is even looked at: guestkit never writes guest images.
 */
export function fixHandler(): HandlerDefinition {
  const filesystems = supportedFilesystems();
  return defineHandler(FixPayloadSchema, {
    operation: 'guestkit.fix',
    isolation: 'thread',
    features: filesystems,
    filesystems,
    diskFormats: FORMATS.map((f) => f.name),
    // a refused request names no image to check (its path and checksum are never touched)
    images: (d) => (refusal(d) ? [] : [{ field: 'image.path', path: d.image.path, checksum: d.image.checksum ?? null }]),
    refuse: (d) => refusal(d),
    async run(ctx, d) {
      const refused = refusal(d);
      if (refused) throw refused;
      const plan = await planFix({
        disk: ctx.resolvedImages[0] ?? d.image.path,
        format: d.image.format,
        operations: d.operations,
        allowedRoots: ctx.allowedRoots.length > 0 ? ctx.allowedRoots : undefined,
        onStage: (phase, message) => ctx.progress({ phase, message }),
      });
      if (d.image.create_backup) plan.warnings.push('image.create_backup ignored: the image is only read, so there is nothing to back up');
      return { data: plan };
    },
  });
}
