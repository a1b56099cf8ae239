import type { ContainerModule } from 'inversify';
import { clevertapModule } from '@ferry/clevertap';
// Every destination plugin the runner offers; `nx g @ferry/tools:destination` adds new ones here.
export const pluginModules: readonly ContainerModule[] = [clevertapModule];
