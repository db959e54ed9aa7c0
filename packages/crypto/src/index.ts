// @bftx/crypto: hashes, Ed25519 behind one strict rule, the canonical codec, Merkle roots.
export { assertBytes, bytesEqual, compareBytes, concatBytes, fromHex, fromUtf8, toHex, utf8 } from './bytes';
export { assertDomain, Domains, type DomainTag } from './domain';
export { CryptoError, type CryptoErrorCode } from './errors';
export { hash, hashHex, hashParts, sha256, sha512 } from './hash';
export { IncrementalMerkleTree, MAX_PROOF_DEPTH, merkleProof, MerkleProofCodec, merkleRoot, verifyMerkleProof, type MerkleProof } from './merkle';
export * as codec from './codec/index';
export { decode, encode, tryDecode, DecodeError, EncodeError, CODEC_VERSION, type Codec, type Infer, type DecodeResult } from './codec/index';
export { generateKeyPair, keyPairFromSeed, publicKeyId, type KeyPair } from './signature/keys';
export { domainMessage, type SignatureScheme, type Signer } from './signature/scheme';
export { createSignatureScheme, isNodeBackendAvailable, type SignatureBackend } from './signature/select';
export { isAcceptablePublicKey, isWellFormedSignature } from './signature/strict';
