import WarmsetInput

/// Why a followed log could not be read: the input's error, with its one wording per failure
/// kind (`cannotOpen`, `readFailed`, `gzipNotFollowed`).
public typealias FollowError = InputError
