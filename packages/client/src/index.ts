// @bftx/client: trade on a bftx cluster trusting only its validator keys.
export { Client, type ClientOptions, type PlacedOrder, type Submission } from './client';
export { ClientError, type ClientErrorCode } from './errors';
export { clusterIdOf, resolveTrust, type ProtocolName, type Trust, type TrustOptions } from './trust';
export {
  verifyAccountAnswer,
  verifyBlockAnswer,
  verifyBookAnswer,
  verifyCertification,
  verifyOrderAnswer,
  verifyReceiptAnswer,
  type CertificationJson,
  type Certified,
  type VerifiedAccount,
  type VerifiedBlock,
  type VerifiedBook,
  type VerifiedOrder,
  type VerifiedReceipt,
} from './verify';
// Keys and orders, so a trader needs this one package.
export { createSignatureScheme, fromHex, generateKeyPair, toHex, type KeyPair, type Signer } from '@bftx/crypto';
export { placeAction, type OrderAction, type PlaceRequest } from '@bftx/exchange';
