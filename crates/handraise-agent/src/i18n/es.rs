//! Spanish texts of the agent's own messages: plain words, addressing the teacher as
//! "usted", with the same terms as the windows (`ui/src/lib/i18n/es.ts`): a report is an
//! "aviso", a ticket a "solicitud", the help desk the "servicio de soporte".

use super::Msg;

pub(super) fn text(msg: Msg) -> &'static str {
    match msg {
        Msg::MenuReport => "Informar de un problema",
        Msg::MenuTickets => "Mis solicitudes",
        Msg::MenuTicketsUnread => "Mis solicitudes ({count} nuevas)",
        Msg::MenuHelp => "Artículos de ayuda",
        Msg::MenuAbout => "Acerca de este equipo",
        Msg::MenuSync => "Enviar y recibir ahora",
        Msg::MenuQuit => "Salir de HandRaise",
        Msg::TooltipNotSetUp => "HandRaise — todavía sin configurar",
        Msg::TooltipPaused => {
            "HandRaise — hay que volver a conectar este equipo con el servicio de soporte"
        }
        Msg::TooltipOnline => "HandRaise — conectado con el servicio de soporte",
        Msg::TooltipOffline => "HandRaise — sin conexión",
        Msg::TooltipOfflineJustNow => "HandRaise — sin conexión desde hace menos de un minuto",
        Msg::TooltipOfflineMinute => "HandRaise — sin conexión desde hace 1 minuto",
        Msg::TooltipOfflineMinutes => "HandRaise — sin conexión desde hace {count} minutos",
        Msg::TooltipOfflineHours => "HandRaise — sin conexión desde hace {count} horas",
        Msg::TooltipQueuedOne => "1 aviso pendiente de envío",
        Msg::TooltipQueuedOther => "{count} avisos pendientes de envío",
        Msg::TooltipUnreadOne => "1 solicitud con novedades",
        Msg::TooltipUnreadOther => "{count} solicitudes con novedades",
        Msg::TooltipOutage => "problema conocido: {title}",
        Msg::TooltipNotice => "anuncio: {title}",
        Msg::NoticeReplied => "{who} ha respondido en la solicitud n.º {number}",
        Msg::NoticeRepliedUnnumbered => "{who} ha respondido a su aviso",
        Msg::NoticeHelpDesk => "El servicio de soporte",
        Msg::NoticeResolved => "La solicitud n.º {number} está resuelta",
        Msg::NoticeResolvedUnnumbered => "Su aviso está resuelto",
        Msg::NoticeOpen => "Abrir",
    }
}
