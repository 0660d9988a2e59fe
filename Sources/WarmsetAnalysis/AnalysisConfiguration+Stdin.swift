extension AnalysisConfiguration {
    /// True when one of the inputs is stdin (`-`).
    public var readsStandardInput: Bool { inputs.contains("-") }

    /// What to say on stderr before reading when stdin is a terminal: without it a command
    /// given no file just waits, and looks hung. Nil when stdin is not a terminal (a pipe, a
    /// file) or not read.
    public func standardInputNotice(stdinIsTerminal: Bool) -> String? {
        guard readsStandardInput && stdinIsTerminal else { return nil }
        return "reading log lines from stdin (a terminal); end with Ctrl-D, or give log files as arguments"
    }
}
