// WarmEntry lives in WarmsetModel (with RankedKey and KeyHash); every user of the warm plan
// sees it as before.
@_exported import WarmsetModel
