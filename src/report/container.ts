/** The container/pod a row belongs to, as every report document carries it. */
import { z } from 'zod';

export const ContainerSchema = z.object({
  runtime: z.string(),
  id: z.string(),
  name: z.string().optional(),
  podName: z.string().optional(),
  podNamespace: z.string().optional(),
  podUid: z.string().optional(),
});
