import type { ContainerModule } from 'inversify';
import { clevertapModule } from '@ferry/clevertap';
import { amplitudeModule } from '@ferry/amplitude';
// Every destination plugin the runner offers; `nx g @ferry/tools:destination` adds new ones here.
export const pluginModules: readonly ContainerModule[] = [clevertapModule, amplitudeModule];
