import { TOKENS, type AnyDestinationPlugin } from '@ferry/core';
import { Container } from 'inversify';
import { amplitudeModule } from './module';
import { amplitudePlugin } from './plugin';

describe('amplitudeModule', () => {
  it('binds the plugin to the destination token the runner multi-injects', () => {
    const container = new Container();
    container.load(amplitudeModule);
    const plugins = container.getAll<AnyDestinationPlugin>(TOKENS.DestinationPlugin);
    expect(plugins).toHaveLength(1);
    expect(plugins[0]).toBe(amplitudePlugin);
  });
});
