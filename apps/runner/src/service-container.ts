import { Container, type BindToFluentSyntax, type ResolvedValueInjectOptions } from 'inversify';
import type { MultiToken, Token } from '@ferry/core';

/** What a factory or a start step uses, by name: a token gives its service, a multi-token every value bound to it. */
export type Needs = Readonly<Record<string, Pick<Token<unknown> | MultiToken<unknown>, 'key' | 'multiple'>>>;

/** The services `needs` names, under the same names, typed from their tokens. */
export type Resolved<N extends Needs> = {
  readonly [K in keyof N]: N[K] extends MultiToken<infer T> ? T[] : N[K] extends Token<infer T> ? T : never;
};

type Build<T, N extends Needs> = (services: Resolved<N>) => T | Promise<T>;

/**
 * Inversify 8 behind typed tokens: a binding and a read are checked against the token's type, and a
 * factory names what it uses as an object (`{ store: TOKENS.Store }`), typed from the tokens. Every
 * service is a singleton, built when first asked for; a factory that returns a promise (the store
 * opening) is read with `getAsync`, as is everything built on it.
 */
export class ServiceContainer {
  private readonly container = new Container({ defaultScope: 'Singleton' });

  /** Binds a value; a multi-token collects one more each time. */
  bindValue<T>(token: Token<T> | MultiToken<T>, value: NoInfer<T>): void {
    this.container.bind<T>(token.key).toConstantValue(value);
  }

  /** Binds what `build` makes of the services `needs` names, built when the token is first read. */
  bindFactory<T, N extends Needs>(token: Token<T>, needs: N, build: Build<T, NoInfer<N>>): void {
    this.toFactory(this.container.bind<T>(token.key), needs, build);
  }

  /** Replaces a token's binding before anything is built (how tests put a fake in). */
  replaceValue<T>(token: Token<T>, value: NoInfer<T>): void {
    this.container.rebind<T>(token.key).toConstantValue(value);
  }

  replaceFactory<T, N extends Needs>(token: Token<T>, needs: N, build: Build<T, NoInfer<N>>): void {
    this.toFactory(this.container.rebind<T>(token.key), needs, build);
  }

  get<T>(token: Token<T>): T {
    return this.container.get<T>(token.key);
  }

  getAsync<T>(token: Token<T>): Promise<T> {
    return this.container.getAsync<T>(token.key);
  }

  getAll<T>(token: MultiToken<T>): T[] {
    return this.container.getAll<T>(token.key);
  }

  /** The services `needs` names, built as needed (asynchronously, so the store may be among them). */
  async resolve<N extends Needs>(needs: N): Promise<Resolved<N>> {
    const entries = await Promise.all(
      Object.entries(needs).map(async ([name, token]) => [
        name,
        token.multiple ? await this.container.getAllAsync(token.key) : await this.container.getAsync(token.key),
      ]),
    );
    return Object.fromEntries(entries) as Resolved<N>;
  }

  private toFactory<T, N extends Needs>(binding: BindToFluentSyntax<T>, needs: N, build: Build<T, N>): void {
    const names = Object.keys(needs);
    const injections = names.map((name): ResolvedValueInjectOptions<unknown[]> | symbol => {
      const token = needs[name];
      return token.multiple ? { serviceIdentifier: token.key, isMultiple: true } : token.key;
    });
    binding.toResolvedValue(
      (...values: unknown[]) => build(Object.fromEntries(names.map((name, index) => [name, values[index]])) as Resolved<N>),
      injections,
    );
  }
}
