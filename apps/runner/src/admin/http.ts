import type { FastifyError, FastifyInstance } from 'fastify';
import { bearerToken, credentialCheck } from '../auth';
import { ConflictError, InputError, NotFoundError } from './errors';
import type { AdminService } from './service';

/**
 * The admin API under /admin, behind `Authorization: Bearer <server.adminToken>` and disabled without a
 * token: one Fastify route per declared route, its input parsed by the route's schemas.
 */
export function adminRoutes(scope: FastifyInstance, admin: AdminService, adminToken: string | undefined): void {
  const authorized = adminToken === undefined ? () => false : credentialCheck(adminToken);

  scope.addHook('onRequest', async (request, reply) => {
    if (adminToken === undefined) {
      return reply.code(403).send({ error: 'the admin API is disabled: set server.adminToken to enable it' });
    }
    if (!authorized(bearerToken(request.headers.authorization))) {
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
