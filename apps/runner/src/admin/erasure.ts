import { z } from 'zod';
import { portOf, type AdminDeps } from './deps';
import { queryStore } from './errors';
import { routeFor } from './route';

/** Erasure: a privacy request removes what the store keeps of a user. */

export const eraseRequest = z
  .object({ appUserId: z.string().min(1).describe('The user: as app user id, original app user id, alias or transfer party.') })
  .strict()
  .meta({ id: 'EraseRequest' });

export class ErasureAdmin {
  constructor(private readonly deps: AdminDeps) {}

  /**
   * Removes every event naming the user (see Maintenance.erase). The user id is not logged: the log would keep
   * what the store no longer does.
   */
  async erase({ appUserId }: z.output<typeof eraseRequest>): Promise<{ erased: number }> {
    return { erased: await queryStore(() => portOf(this.deps, 'maintenance').erase(appUserId)) };
  }
}

const route = routeFor<ErasureAdmin>();

export const eraseUser = route({
  id: 'eraseUser',
  method: 'POST',
  path: '/erase',
  summary: "A privacy request: remove every stored event naming the user, with its deliveries, attempts and the user's state marks",
  description:
    'Events whose app_user_id, original_app_user_id, aliases, transferred_from or transferred_to hold the id go, ' +
    'webhook bodies included, whatever their deliveries’ states; pending ones are never sent afterwards.',
  body: eraseRequest,
  bodyName: 'erase request',
  response: z.object({ erased: z.number().int().nonnegative().describe('How many events were removed.') }),
  handle: (erasure, { body }) => erasure.erase(body),
});

export const ERASURE_ROUTES = [eraseUser];
