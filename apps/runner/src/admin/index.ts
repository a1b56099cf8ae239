export { ConflictError, InputError, NotFoundError } from './errors';
export type { AdminDeps } from './deps';
export type { AnswerOf, RawInput } from './route';
export { AdminService, adminApiDocument } from './service';
export type { DestinationView } from './destinations';
export type { EventView } from './events';
export type { OrphanView } from './orphans';
export type { ReplayJob } from './replay-jobs';
export type { SourceView } from './sources';
