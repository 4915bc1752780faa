//! Logoff and shutdown, as Windows announces them to this program. Windows sends
//! `CTRL_LOGOFF_EVENT` and `CTRL_SHUTDOWN_EVENT` only to console processes that have not
//! loaded user32.dll or gdi32.dll (Microsoft's `SetConsoleCtrlHandler` remarks); this program
//! imports user32.dll, so Windows counts it as a windowed application: it sends
//! `WM_QUERYENDSESSION` and `WM_ENDSESSION` to its top-level windows, and ends a process
//! that has none without a word. Here the process gets one hidden window, on a thread of
//! its own, whose `WM_ENDSESSION` is a request to stop.

use std::sync::OnceLock;

use tokio::sync::watch;
use windows_sys::Win32::Foundation::{GetLastError, HWND, LPARAM, LRESULT, WPARAM};
use windows_sys::Win32::System::LibraryLoader::GetModuleHandleW;
use windows_sys::Win32::UI::WindowsAndMessaging::{
    CreateWindowExW, DefWindowProcW, DispatchMessageW, GetMessageW, MSG, RegisterClassW,
    WM_ENDSESSION, WM_QUERYENDSESSION, WNDCLASSW,
};

/// The hidden window's class name (a test finds the window by it).
pub const WINDOW_CLASS: &str = "entra-extract-session-end";

/// Told when the session ends; every [`Listener`] holds a receiver.
static ENDING: OnceLock<watch::Sender<()>> = OnceLock::new();
/// Whether the window exists (or the OS error that kept it from being made), made once.
static WINDOW: OnceLock<Result<(), i32>> = OnceLock::new();

/// Hears of the session's end, as tokio's console-event listeners hear of theirs.
pub struct Listener(watch::Receiver<()>);

impl Listener {
    /// Waits for the end of the session; `None` once nobody can send it any more.
    pub async fn recv(&mut self) -> Option<()> {
        self.0.changed().await.ok()
    }
}

/// Starts listening; makes the window on first use. Fails where no window can be made (a
/// service without a desktop; Wine without a display driver).
pub fn listen() -> std::io::Result<Listener> {
    // The sender exists before the window, so the window procedure always finds it.
    let ending = ENDING.get_or_init(|| watch::Sender::new(()));
    let made = *WINDOW.get_or_init(open_window);
    made.map_err(std::io::Error::from_raw_os_error)?;
    Ok(Listener(ending.subscribe()))
}

/// Makes the hidden window on a thread that then serves its messages for as long as the
/// process lives; returns once the window exists or could not be made.
fn open_window() -> Result<(), i32> {
    let (made_tx, made) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("session-end".into())
        .spawn(move || {
            let class: Vec<u16> = WINDOW_CLASS.encode_utf16().chain([0]).collect();
            // SAFETY: `class` is NUL-terminated UTF-16 and outlives the window (this thread
            // never returns while the window exists); the window class names a procedure
            // with the signature Windows calls; MSG is plain data, valid when zeroed.
            unsafe {
                let instance = GetModuleHandleW(std::ptr::null());
                let window_class = WNDCLASSW {
                    lpfnWndProc: Some(window_procedure),
                    hInstance: instance,
                    lpszClassName: class.as_ptr(),
                    ..Default::default()
                };
                // A top-level window, never shown: message-only windows get no broadcasts.
                let window = if RegisterClassW(&window_class) == 0 {
                    std::ptr::null_mut()
                } else {
                    CreateWindowExW(
                        0,
                        class.as_ptr(),
                        class.as_ptr(),
                        0,
                        0,
                        0,
                        0,
                        0,
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                        instance,
                        std::ptr::null(),
                    )
                };
                if window.is_null() {
                    let _ = made_tx.send(Err(GetLastError() as i32));
                    return;
                }
                let _ = made_tx.send(Ok(()));
                let mut message: MSG = std::mem::zeroed();
                while GetMessageW(&mut message, std::ptr::null_mut(), 0, 0) > 0 {
                    DispatchMessageW(&message);
                }
            }
        })
        .map_err(|e| e.raw_os_error().unwrap_or_default())?;
    made.recv().unwrap_or(Err(0))
}

/// The window's procedure: a session that may end is not objected to; one that ends is a
/// request to stop.
unsafe extern "system" fn window_procedure(
    window: HWND,
    message: u32,
    wparam: WPARAM,
    lparam: LPARAM,
) -> LRESULT {
    match message {
        WM_QUERYENDSESSION => 1,
        // wparam is zero when the session does not end after all.
        WM_ENDSESSION if wparam != 0 => match ENDING.get().map(|ending| ending.send(())) {
            // Windows may end the process as soon as this returns; the program ends itself
            // once it has cleaned up (Windows waits about five seconds), as tokio's console
            // handler never returns from CTRL_CLOSE_EVENT.
            Some(Ok(())) => loop {
                std::thread::park();
            },
            // Nobody listens any more: let the session end the process.
            _ => 0,
        },
        // SAFETY: the arguments are the ones Windows passed to this procedure.
        _ => unsafe { DefWindowProcW(window, message, wparam, lparam) },
    }
}
