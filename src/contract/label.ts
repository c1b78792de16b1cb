/**
 * How a container is named in words and tables, everywhere (CLI text, findings' params, the agent's
 * samples, the web). A plain function without zod, so the web bundles it without the schemas.
 */
import type { ContainerRef } from './common.js';

/**
 * A container as people name it: `namespace/pod/container` for a pod's container, `runtime:name` (or the
 * id's first 12 characters) otherwise; '' for none.
 */
export function containerLabel(c: Pick<ContainerRef, 'runtime' | 'id' | 'name' | 'podName' | 'podNamespace'> | null | undefined): string {
  if (!c) return '';
  if (c.podName) return `${c.podNamespace ? `${c.podNamespace}/` : ''}${c.podName}${c.name ? `/${c.name}` : ''}`;
  return `${c.runtime}:${c.name ?? c.id.slice(0, 12)}`;
}
