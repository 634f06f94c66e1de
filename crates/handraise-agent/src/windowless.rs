//! The helper programs the agent starts (PowerShell, `icacls`, `netsh`) must not flash a
//! console window in front of the teacher on Windows: one flag, set here for all of them.

use std::process::Command;

/// `cmd` started without a console window on Windows (`CREATE_NO_WINDOW`); unchanged
/// elsewhere, where a program started from the tray opens no window anyway.
pub(crate) fn windowless(cmd: &mut Command) -> &mut Command {
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        const CREATE_NO_WINDOW: u32 = 0x0800_0000;
        cmd.creation_flags(CREATE_NO_WINDOW);
    }
    cmd
}
