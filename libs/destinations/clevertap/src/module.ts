import { TOKENS, type AnyDestinationPlugin } from '@ferry/core';
import { ContainerModule } from 'inversify';
import { clevertapPlugin } from './plugin';

/** Offers the CleverTap plugin to a container that collects every `TOKENS.DestinationPlugin`. */
export const clevertapModule = new ContainerModule(({ bind }) => {
  bind<AnyDestinationPlugin>(TOKENS.DestinationPlugin).toConstantValue(clevertapPlugin);
});
