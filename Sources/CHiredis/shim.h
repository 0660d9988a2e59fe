// hiredis, as Debian 12 ships it (0.14.1) and as 1.x ships it: warmset uses only the API the two
// share (connect with timeout, redisConnectFd for the TLS relay's socketpair, redisSetTimeout, redisAppendCommandArgv, redisGetReply,
// freeReplyObject, redisFree). Nothing here needs a wrapper: every call is a plain function.
#include <hiredis/hiredis.h>
