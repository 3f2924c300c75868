import { LABEL_SCAN_BYTES, parsePvLabel } from '../lvm/label.js';
import { type ProbeContext, type ProbeResult, result } from './context.js';

/** LVM2 PV: "LABELONE" in sectors 0–3; UUID in LVM's dashed form. */
export async function probeLvm2(ctx: ProbeContext): Promise<ProbeResult | null> {
  const head = await ctx.at(0, LABEL_SCAN_BYTES);
  if (!head) return null;
  const label = parsePvLabel(head, ctx.dev.name);
  if (!label) return null;
  return result({ type: 'LVM2_member', usage: 'raid', uuid: label.pvUuid, version: 'LVM2 001' });
}
