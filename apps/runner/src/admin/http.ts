import type { FastifyError, FastifyInstance } from 'fastify';
import type { Clock } from '@ferry/core';
import { bearerToken, credentialCheck } from '@ferry/core';
import { ADMIN_THROTTLE, FailureThrottle, clientKey, type Refuse } from '../client-limits';
import { ConflictError, InputError, NotFoundError } from './errors';
import type { AdminService } from './service';

export interface AdminAccess {
  readonly adminToken: string | undefined;
  readonly clock: Clock;
  /** Counts a refusal on the server's bounded refusals line. */
  readonly refuse: Refuse;
}

/**
 * The admin API under /admin, behind `Authorization: Bearer <server.adminToken>` and disabled without a
 * token: one Fastify route per declared route, its input parsed by the route's schemas. A client's failed
 * tries are throttled (ADMIN_THROTTLE): once they are used up it gets 429, whatever it presents, until one
 * more is allowed; other clients are not affected.
 */
export function adminRoutes(scope: FastifyInstance, admin: AdminService, access: AdminAccess): void {
  const { adminToken, refuse } = access;
  const authorized = adminToken === undefined ? () => false : credentialCheck(adminToken);
  const throttle = new FailureThrottle(ADMIN_THROTTLE, () => access.clock.now());

  scope.addHook('onRequest', async (request, reply) => {
    if (adminToken === undefined) {
      return reply.code(403).send({ error: 'the admin API is disabled: set server.adminToken to enable it' });
    }
    const client = clientKey(request.ip);
    const waitMs = throttle.waitMs(client);
    if (waitMs > 0) {
      refuse(request, 'adminThrottled');
      const seconds = Math.ceil(waitMs / 1_000);
      return reply
        .code(429)
        .header('retry-after', String(seconds))
        .send({ error: `too many failed admin authentications from this address: try again in ${seconds} s` });
    }
    if (!authorized(bearerToken(request.headers.authorization))) {
      throttle.failed(client);
      refuse(request, 'adminUnauthorized');
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'expected Authorization: Bearer <server.adminToken>' });
    }
  });

  // The operations' refusals; anything else (a body that is not JSON, a crash) goes to the server's handler.
  scope.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error instanceof InputError) return reply.code(400).send({ error: error.message, issues: error.issues });
    if (error instanceof NotFoundError) return reply.code(404).send({ error: error.message });
    if (error instanceof ConflictError) return reply.code(409).send({ error: error.message });
    throw error;
  });

  for (const { route, call } of admin.routes) {
    scope.route({
      method: route.method,
      url: route.path,
      handler: async (request, reply) => {
        const answer = await call({ params: request.params, query: request.query, body: request.body });
        return reply.code(route.status ?? 200).send(answer);
      },
    });
  }
}
