//! Tauri commands: one-line delegations into the agent core's [`App`]. No logic lives here.

use handraise_agent::app::{
    App, AppStatus, ArticleHit, ArticleView, FactItem, IpcResult, LocalMessage, LocalTicket,
    ReportInput, ScreenshotPreview,
};
use handraise_wire::Category;
use tauri::{State, WebviewWindow};

#[tauri::command]
pub async fn get_state(app: State<'_, App>) -> IpcResult<AppStatus> {
    app.status().await
}

#[tauri::command]
pub async fn setup(
    app: State<'_, App>,
    server_url: String,
    enrollment_code: String,
    teacher_name: String,
    room: String,
    email: Option<String>,
) -> IpcResult<AppStatus> {
    app.setup(
        &server_url,
        &enrollment_code,
        &teacher_name,
        &room,
        email.as_deref(),
    )
    .await
}

#[tauri::command]
pub async fn set_email(app: State<'_, App>, email: Option<String>) -> IpcResult<AppStatus> {
    app.set_email(email.as_deref()).await
}

#[tauri::command]
pub async fn search_help(
    app: State<'_, App>,
    query: String,
    category: Option<Category>,
) -> IpcResult<Vec<ArticleHit>> {
    app.search_help(&query, category).await
}

#[tauri::command]
pub async fn get_article(app: State<'_, App>, slug: String) -> IpcResult<ArticleView> {
    app.article(&slug).await
}

#[tauri::command]
pub async fn record_deflection(app: State<'_, App>, slug: String) -> IpcResult<()> {
    app.record_deflection(&slug).await
}

#[tauri::command]
pub async fn get_facts(app: State<'_, App>) -> IpcResult<Vec<FactItem>> {
    app.facts().await
}

#[tauri::command]
pub async fn get_screenshot(app: State<'_, App>) -> IpcResult<Option<ScreenshotPreview>> {
    app.screenshot().await
}

#[tauri::command]
pub async fn submit_report(app: State<'_, App>, input: ReportInput) -> IpcResult<LocalTicket> {
    app.submit(input).await
}

#[tauri::command]
pub async fn list_tickets(app: State<'_, App>) -> IpcResult<Vec<LocalTicket>> {
    app.tickets().await
}

#[tauri::command]
pub async fn get_ticket(app: State<'_, App>, client_id: String) -> IpcResult<LocalTicket> {
    app.ticket(&client_id).await
}

#[tauri::command]
pub async fn send_message(
    app: State<'_, App>,
    client_id: String,
    body: String,
) -> IpcResult<LocalMessage> {
    app.send_message(&client_id, &body).await
}

#[tauri::command]
pub async fn mark_read(app: State<'_, App>, client_id: String) -> IpcResult<()> {
    app.mark_read(&client_id).await
}

#[tauri::command]
pub async fn confirm_fixed(
    app: State<'_, App>,
    client_id: String,
    fixed: bool,
) -> IpcResult<LocalTicket> {
    app.confirm_fixed(&client_id, fixed).await
}

#[tauri::command]
pub async fn rate_ticket(
    app: State<'_, App>,
    client_id: String,
    rating: u8,
) -> IpcResult<LocalTicket> {
    app.rate(&client_id, rating).await
}

#[tauri::command]
pub fn sync_now(app: State<'_, App>) {
    app.sync_now()
}

#[tauri::command]
pub fn close_window(window: WebviewWindow) -> IpcResult<()> {
    window
        .destroy()
        .map_err(|e| handraise_agent::app::IpcError::new("internal", e.to_string()))
}

#[tauri::command]
pub fn ui_ready(app: State<'_, App>, view: String) {
    crate::report_ready(&app, &view)
}

#[tauri::command]
pub async fn check_connection(
    app: State<'_, App>,
) -> IpcResult<handraise_agent::netcheck::ConnectionReport> {
    app.check_connection().await
}

#[tauri::command]
pub async fn list_articles(
    app: State<'_, App>,
    category: Option<Category>,
) -> IpcResult<Vec<ArticleHit>> {
    app.list_articles(category).await
}

#[tauri::command]
pub async fn me_too(
    app: State<'_, App>,
    announcement_id: i64,
    room: Option<String>,
) -> IpcResult<()> {
    app.me_too(announcement_id, room).await
}

#[tauri::command]
pub async fn get_locale(app: State<'_, App>) -> IpcResult<Option<String>> {
    app.locale().await
}

#[tauri::command]
pub async fn set_locale(app: State<'_, App>, locale: Option<String>) -> IpcResult<()> {
    app.set_locale(locale).await
}

#[tauri::command]
pub fn copy_text(handle: tauri::AppHandle, text: String) -> IpcResult<()> {
    use tauri_plugin_clipboard_manager::ClipboardExt;
    handle
        .clipboard()
        .write_text(text)
        .map_err(|e| handraise_agent::app::IpcError::new("internal", e.to_string()))
}
