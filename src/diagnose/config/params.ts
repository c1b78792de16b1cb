/** Parameters of the configuration capture (`oscope config-diff --capture`, the agent's `config` task): none beyond the language, which the agent adds. */
import { z } from 'zod';

export const ConfigParamsObject = z.object({}).strict();
export const ConfigParamsSchema = ConfigParamsObject;
export type ConfigParams = z.infer<typeof ConfigParamsObject>;
