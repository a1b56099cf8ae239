export { DEFAULT_TOLERANCE_SECONDS, verifyStandardWebhook, type Verification, type VerifyOptions } from './verify';
export { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver, type WebhookReceiverOptions } from './receiver';
