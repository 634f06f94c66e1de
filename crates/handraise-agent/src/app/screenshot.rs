//! The screenshot a report may carry: taken when the form opens, held in memory only.

use super::{App, IpcResult, ScreenshotPreview};
use handraise_wire::ImageType;
use std::sync::Arc;
use std::time::Duration;

/// Width and height from a PNG header (the wire's reading, which the server
/// checks uploads with).
pub(super) fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    (ImageType::sniff(bytes)? == ImageType::Png)
        .then(|| handraise_wire::image_dimensions(bytes))
        .flatten()
}

/// Takes a screenshot of the whole screen with the platform's own tool, if it has one.
/// Held in memory only.
fn capture_screen() -> Option<Vec<u8>> {
    #[cfg(target_os = "linux")]
    {
        std::env::var_os("DISPLAY")?;
        let out = std::process::Command::new("import")
            .args(["-silent", "-window", "root", "png:-"])
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        (out.status.success() && png_size(&out.stdout).is_some()).then_some(out.stdout)
    }
    #[cfg(windows)]
    {
        windows_capture()
    }
    #[cfg(not(any(target_os = "linux", windows)))]
    {
        None
    }
}

/// Windows: the whole virtual screen as a PNG, by PowerShell with .NET's
/// `Graphics.CopyFromScreen` (present on every Windows 10 and 11), without a console window.
#[cfg(windows)]
fn windows_capture() -> Option<Vec<u8>> {
    const SCRIPT: &str = "Add-Type -AssemblyName System.Windows.Forms,System.Drawing; \
        $b = [System.Windows.Forms.SystemInformation]::VirtualScreen; \
        $bmp = New-Object System.Drawing.Bitmap $b.Width, $b.Height; \
        $g = [System.Drawing.Graphics]::FromImage($bmp); \
        $g.CopyFromScreen($b.Left, $b.Top, 0, 0, $bmp.Size); \
        $ms = New-Object System.IO.MemoryStream; \
        $bmp.Save($ms, [System.Drawing.Imaging.ImageFormat]::Png); \
        $out = [Console]::OpenStandardOutput(); $out.Write($ms.ToArray(), 0, $ms.Length); $out.Flush()";
    let mut cmd = std::process::Command::new("powershell");
    cmd.args(["-NoProfile", "-NonInteractive", "-Command", SCRIPT])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let out = crate::windowless::windowless(&mut cmd).output().ok()?;
    (out.status.success() && png_size(&out.stdout).is_some()).then_some(out.stdout)
}

impl App {
    /// Starts taking the screenshot for a report form about to open; the form asks for it
    /// with [`App::screenshot`]. Only one is kept, in memory.
    pub fn begin_screenshot(&self) {
        self.expect_screenshot();
        let app = self.clone();
        // A plain thread: callers may be on a GUI thread with no async runtime.
        std::thread::spawn(move || app.set_screenshot(capture_screen()));
    }

    /// A screenshot is on its way (taken here, or by the tray for a form in a window process
    /// of its own): until [`App::set_screenshot`] delivers it, asking for it waits (up to
    /// 3 s) instead of answering "none".
    pub fn expect_screenshot(&self) {
        let (tx, rx) = tokio::sync::watch::channel(None);
        if let Ok(mut slot) = self.screenshot.lock() {
            *slot = Some(rx);
        }
        if let Ok(mut sender) = self.shot_sender.lock() {
            *sender = Some(tx);
        }
    }

    /// Delivers the screenshot expected (or, if none was, keeps it); `None` when there is
    /// none.
    pub fn set_screenshot(&self, png: Option<Vec<u8>>) {
        let outcome = Some(png.map(Arc::new));
        let sender = self.shot_sender.lock().ok().and_then(|mut s| s.take());
        if let Some(tx) = sender {
            // Fails only when the form was discarded meanwhile: then nothing is kept.
            let _ = tx.send(outcome);
            return;
        }
        let (tx, rx) = tokio::sync::watch::channel(outcome);
        drop(tx);
        if let Ok(mut slot) = self.screenshot.lock() {
            *slot = Some(rx);
        }
    }

    /// Takes a screenshot now, on this thread (the tray process hands it to the window).
    pub fn capture_screenshot_now() -> Option<Vec<u8>> {
        capture_screen()
    }

    /// Tells every subscriber that tickets or the sync state may have changed (a window
    /// process closed, for instance).
    pub fn announce_change(&self) {
        self.agent.changed();
    }

    /// Drops the screenshot (the form closed).
    pub(super) fn discard_screenshot(&self) {
        if let Ok(mut slot) = self.screenshot.lock() {
            *slot = None;
        }
        if let Ok(mut sender) = self.shot_sender.lock() {
            *sender = None;
        }
    }

    pub(super) async fn screenshot_bytes(&self) -> Option<Arc<Vec<u8>>> {
        let mut rx = self.screenshot.lock().ok()?.clone()?;
        let done = rx.wait_for(|v| v.is_some());
        let shot = tokio::time::timeout(Duration::from_secs(3), done)
            .await
            .ok()?
            .ok()?
            .clone();
        shot.flatten()
    }

    pub async fn screenshot(&self) -> IpcResult<Option<ScreenshotPreview>> {
        use base64::Engine;
        let Some(bytes) = self.screenshot_bytes().await else {
            return Ok(None);
        };
        let Some((width, height)) = png_size(&bytes) else {
            return Ok(None);
        };
        Ok(Some(ScreenshotPreview {
            png_base64: base64::engine::general_purpose::STANDARD.encode(bytes.as_slice()),
            width,
            height,
        }))
    }
}
