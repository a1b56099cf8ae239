import { makeEvent } from './testing/test-plugin';
import { USER_ID_REDACTED, customerIdsOf, redactUserIds } from './user-ids';

describe('customerIdsOf', () => {
  it('names the user ids and the identity attributes of an event', () => {
    const event = makeEvent({
      appUserId: 'app-1',
      originalAppUserId: 'orig-1',
      aliases: ['alias-1', 'app-1'],
      transferredFrom: ['from-1'],
      transferredTo: ['to-1'],
      attributes: { $clevertapId: 'ct-1', $AmplitudeDeviceId: 'dev-1', $email: 'a@example.com', $amplitudeUserId: '' },
    });
    expect(customerIdsOf(event).sort()).toEqual(['alias-1', 'app-1', 'ct-1', 'dev-1', 'from-1', 'orig-1', 'to-1']);
  });
});

describe('redactUserIds', () => {
  it('replaces each id as is, JSON-escaped and URL-encoded', () => {
    const id = 'ana "the" user/ü';
    const text = `as is: ${id}; json: ${JSON.stringify({ identity: id })}; url: /u?id=${encodeURIComponent(id)}`;
    const out = redactUserIds(text, [id]);
    expect(out).toBe(`as is: ${USER_ID_REDACTED}; json: {"identity":"${USER_ID_REDACTED}"}; url: /u?id=${USER_ID_REDACTED}`);
  });

  it('replaces an id only where it stands whole, so a short id leaves longer words and numbers alone', () => {
    expect(redactUserIds('HTTP 429: record 42 refused, 420 kept', ['42'])).toBe(`HTTP 429: record ${USER_ID_REDACTED} refused, 420 kept`);
    expect(redactUserIds('{"identity":"$RCAnonymousID:ab12"}', ['$RCAnonymousID:ab12'])).toBe(`{"identity":"${USER_ID_REDACTED}"}`);
  });

  it('replaces the longest of overlapping ids once, and never inside its own replacement', () => {
    expect(redactUserIds('user user-1 user-10', ['user-1', 'user-10', 'user'])).toBe(
      `${USER_ID_REDACTED} ${USER_ID_REDACTED} ${USER_ID_REDACTED}`,
    );
    expect(redactUserIds('unchanged', [])).toBe('unchanged');
  });
});
