export {
  startFakeAmplitude,
  type AmplitudeDeletion,
  type AmplitudeEndpoint,
  type AmplitudeLoggedRequest,
  type FakeAmplitude,
  type FakeAmplitudeOptions,
  type StoredAmplitudeEvent,
} from './server';
export { FakeAmplitudeInputError, parseAmplitudeFaults, type FakeAmplitudeFault } from './faults';
