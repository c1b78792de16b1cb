/**
 * The JSON the console accepts. The schemas live in the contract (src/contract/console.ts for the
 * people API, src/contract/agent-wire.ts for the agent wire); this module keeps the console's names.
 */
export {
  AgentReportBody,
  AlertEventSchema,
  AlertsBody,
  BootsBody,
  HelloBody,
  ProgressBody,
  ReportDocument,
  ResultBody,
  SampleSchema,
  SamplesBody,
  type AlertEvent,
  type ClaimedTask,
  type Sample,
  type TaskResult,
} from '../contract/agent-wire.js';
export { AlertsQuery, BootsQuery, ChangePasswordBody, ConfigDiffQuery, CrashesQuery, CreateNodeBody, CreateTaskBody, CreateTokenBody, CreateUserBody, IdParams, ListQuery, LoginBody, ProfilesQuery, SamplesQuery } from '../contract/console.js';
