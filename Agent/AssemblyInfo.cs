// The agent runs on Linux hosts only: it relies on symlinks, Unix file modes, /proc and POSIX signals.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
