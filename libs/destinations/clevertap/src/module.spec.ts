import { TOKENS, type AnyDestinationPlugin } from '@ferry/core';
import { Container, ContainerModule } from 'inversify';
import { clevertapModule, clevertapPlugin } from './index';

describe('clevertapModule', () => {
  it('offers the plugin beside any other destination plugin', () => {
    const other = { ...clevertapPlugin, id: 'other' };
    const container = new Container();
    container.load(
      clevertapModule,
      new ContainerModule(({ bind }) => {
        bind<AnyDestinationPlugin>(TOKENS.DestinationPlugin).toConstantValue(other);
      }),
    );
    const plugins = container.getAll<AnyDestinationPlugin>(TOKENS.DestinationPlugin);
    expect(plugins).toHaveLength(2);
    expect(plugins[0]).toBe(clevertapPlugin);
    expect(plugins.map((p) => p.id)).toEqual(['clevertap', 'other']);
  });
});
