// The model types (RankedKey, KeyHash, Hash128) live in WarmsetModel, so that the warmers can
// use them without linking the sketch; every user of the sketch sees them as before.
@_exported import WarmsetModel
