# Mensajes que envía el servidor, en español (si falta alguno, se usa el
# inglés, que está completo). El servidor completa los argumentos; las
# fechas llegan ya escritas, en UTC.

## Partes compartidas

greeting = Hola, { $name }:
footer-account = Recibes este mensaje porque esta dirección pertenece a una cuenta en { $site }.
footer-invited = Recibes este mensaje porque alguien invitó a esta dirección en { $site }.
footer-optional = Recibes este mensaje porque sigues { $topic } en { $site }.
unsubscribe = Dejar de recibir mensajes sobre { $topic }
not-you = Si no lo pediste, ignora este mensaje: no cambiará nada.

## Temas que una persona puede desactivar

topic-proposals = propuestas y votaciones en tus pools
topic-formation-reviews = formaciones pendientes de tu revisión
topic-decisions = decisiones sobre tus solicitudes y formaciones

## Confirmación de una dirección

confirm-email-subject = Confirma tu dirección de correo electrónico
confirm-email-body = Confirma que { $email } es tu dirección. Hasta que lo hagas, puedes iniciar sesión y preparar formaciones, pero no unirte a pools, aceptar invitaciones ni roles, ni enviar una formación.
confirm-email-action = Confirmar mi dirección
link-expiry = El enlace funciona una sola vez, hasta el { $until }.

change-email-subject = Confirma tu nueva dirección de correo electrónico
change-email-body = Pediste trasladar tu cuenta a { $email }. Tu cuenta pasará a usar esta dirección cuando la confirmes aquí.
change-email-action = Confirmar la nueva dirección

## Contraseñas

reset-subject = Restablece tu contraseña
reset-body = Alguien pidió restablecer la contraseña de tu cuenta. Elige una nueva contraseña con el enlace de abajo. Al hacerlo, se cerrará tu sesión en todos los demás lugares.
reset-action = Elegir una nueva contraseña

password-changed-subject = Se cambió tu contraseña
password-changed-body = La contraseña de tu cuenta se cambió el { $when } y se cerraron todas las demás sesiones.
password-changed-note = Si no la cambiaste tú, restablece ahora tu contraseña desde la página de inicio de sesión.

email-changed-subject = Se cambió la dirección de correo electrónico de tu cuenta
email-changed-body = Tu cuenta ahora usa { $new } en lugar de { $old }. A partir de ahora, los mensajes llegarán a la nueva dirección.
email-changed-note = Si no lo pediste, restablece tu contraseña con ayuda de la dirección anterior desde la página de inicio de sesión y ponte en contacto con la plataforma.

## Invitaciones

pool-invitation-subject = Te invitan a unirte a { $pool }
pool-invitation-body = { $inviter } te invitó a unirte a { $pool }, en el grupo { $group }.
pool-invitation-founding = { $founder } te incluyó entre las personas fundadoras de { $pool }, que se acaba de formar, en el grupo { $group }.
pool-invitation-how = Para aceptar, inicia sesión con esta dirección o crea una cuenta con ella. La invitación es válida hasta el { $until }.
pool-invitation-action = Ver la invitación

role-invitation-subject = Te invitan a ser { $role } de { $parent }
role-invitation-body = { $parent } te invitó a ser { $role }. Para aceptar o rechazar, inicia sesión con esta dirección o crea una cuenta con ella. La invitación es válida hasta el { $until }.
role-invitation-action = Ver tus invitaciones

role-steward = una persona administradora
role-auditor = una persona auditora

## Decisiones

application-approved-subject = Se aceptó tu solicitud para { $pool }
application-approved-body = Se aceptó tu solicitud para unirte a { $pool }. ¡Te damos la bienvenida!
application-rejected-subject = Se rechazó tu solicitud para { $pool }
application-rejected-body = Se rechazó tu solicitud para unirte a { $pool }.
reason-given = Motivo indicado: { $reason }
application-action = Abrir { $pool }

formation-submitted-subject = Una formación espera revisión: { $name }
formation-submitted-body = { $founder } envió la formación { $name } a { $parent } para su revisión.
formation-submitted-action = Revisar la formación

formation-approved-subject = Se aprobó { $name }
formation-approved-body = { $parent } aprobó tu formación: el pool { $name } ya existe y se invitó a sus personas fundadoras.
formation-rejected-subject = No se aprobó { $name }
formation-rejected-body = { $parent } no aprobó tu formación { $name }.
formation-action = Abrir la formación

## Gobernanza

proposal-opened-subject = Nueva propuesta en { $pool }: { $title }
proposal-opened-body = Hay una propuesta abierta a tu voto en { $pool }: { $title }. La votación cierra el { $closes }.
proposal-closing-subject = La votación cierra pronto: { $title }
proposal-closing-body = La votación sobre { $title } en { $pool } cierra el { $closes } y aún no has votado.
proposal-action = Leer y votar

## Dinero

payment-failed-subject = No se pudo cobrar tu contribución a { $pool }
payment-failed-body = No se pudo cobrar tu contribución de { $amount } a { $pool }. Revisa tu método de pago o cambia tu contribución.
payment-failed-action = Abrir tu contribución

## La página para darse de baja

unsubscribe-title = Mensajes sobre { $topic }
unsubscribe-confirm = ¿Dejar de enviar a { $email } mensajes sobre { $topic }?
unsubscribe-button = Dejar de recibir estos mensajes
unsubscribe-done = Listo: { $email } ya no recibirá mensajes sobre { $topic }. Puedes volver a activarlos en la configuración de tu cuenta.
unsubscribe-invalid-title = Este enlace no funciona
unsubscribe-invalid = Este enlace no es válido. Abre el enlace del mensaje más reciente o cambia qué mensajes recibes en la configuración de tu cuenta.

## La situación de un pool

pool-suspended-subject = { $pool } está suspendido
pool-suspended-body = La entidad matriz suspendió { $pool }: { $reason } Hasta que se reactive, el pool no admite nuevos miembros, propuestas, votos, gastos ni pagos. Puedes seguir leyéndolo, salir de él y detener tu aportación.
pool-reinstated-subject = { $pool } está reactivado
pool-reinstated-body = La entidad matriz reactivó { $pool }: { $reason } Los miembros pueden volver a unirse, proponer, votar y pagar.
pool-standing-action = Abrir el pool
pool-dissolving-subject = { $pool } se está disolviendo
pool-dissolving-body = Los miembros de { $pool } decidieron disolverlo. Las aportaciones se detienen, sus aplicaciones se retiran y sus fondos restantes se pagan como dicen sus reglas. Puedes seguir leyendo el pool, su registro y sus cuentas.

## Las decisiones de quien administra

rules-change-waits-subject = Un cambio de reglas en { $pool } espera a { $parent }
rules-change-waits-body = Los miembros de { $pool } aprobaron un cambio de sus reglas que la política de { $parent } pide aprobar a una persona administradora. Léelo y apruébalo o recházalo.
rules-change-waits-action = Leer el cambio
pool-move-waits-subject = { $pool } espera a { $parent } para su traslado
pool-move-waits-body = Los miembros de { $pool } votaron trasladar el pool a otra entidad matriz. El traslado necesita el acuerdo de { $parent }: la entidad que lo recibe lo acepta, la que lo deja lo libera, y cualquiera puede rechazarlo.
pool-move-waits-action = Abrir el pool
dissolution-waits-subject = { $pool } espera el consentimiento de { $parent } para su disolución
dissolution-waits-body = Los miembros de { $pool } votaron disolver el pool. La política de { $parent } pide el consentimiento de quien administra antes de liquidarlo: consiéntelo, o recházalo con un motivo.
dissolution-waits-action = Abrir el pool
