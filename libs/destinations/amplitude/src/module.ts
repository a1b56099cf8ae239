import { TOKENS, type AnyDestinationPlugin } from '@ferry/core';
import { ContainerModule } from 'inversify';
import { amplitudePlugin } from './plugin';

/** Offers the Amplitude plugin to a container that collects every `TOKENS.DestinationPlugin`. */
export const amplitudeModule = new ContainerModule(({ bind }) => {
  bind<AnyDestinationPlugin>(TOKENS.DestinationPlugin).toConstantValue(amplitudePlugin);
});
