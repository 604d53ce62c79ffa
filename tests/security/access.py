"""Who may reach every route: the table the route walk (test_routes.py) checks.

Every URL pattern (by its namespaced name, or its pattern when it has no name) and every operation of
the OpenAPI spec ("METHOD /api/v1/path") needs a rule here; a new route without one fails the test.
Keys may use shell-style wildcards ("admin:auth_*"); the first exact key wins, then the longest
matching wildcard. A value is a rule, or a dict of HTTP method -> rule ("*" for the other methods).

Rules (which members of the cast may get through; everyone else must be refused with 401/403/404/
405/4xx or a redirect to a sign-in page):

- "public"          everyone, signed in or not
- "authenticated"   anyone signed in (citizen, visitor, any staff)
- "citizen"         citizens and visitors (what a visitor may do is the city's policy)
- "staff"           any staff role of the city (agency staff and managers, operators, council
                    members, city administrators)
- "city_admin"      city administrators
- "platform_admin"  platform administrators only
- "admin_site"      the Django admin, for users with admin access (city and platform administrators)
- "citizen_only"    citizens and visitors, not even platform administrators: pages about one's own
                    citizen account (staff accounts have none)
- "self"            signed-in users, each only on their own objects (samples are nobody's: 404)
- "nobody"          refused to everyone, platform administrators included (e.g. editing audit records),
                    or refused to everyone for the walk's sample request (e.g. it needs parameters)

In the admin, a redirect to the admin index counts as a refusal: Django answers so for an object
that does not exist (the walk's samples), before or after checking permissions.

Platform administrators hold every role, so every rule but "nobody" lets them through.
"""

from __future__ import annotations

ALL_ROLES = ["anonymous", "citizen", "visitor", "agency_staff", "agency_manager", "operator",
             "council_member", "city_admin", "platform_admin"]
STAFF_ROLES = ["agency_staff", "agency_manager", "operator", "council_member", "city_admin"]

RULES: dict[str, set[str]] = {
    "public": set(ALL_ROLES),
    "authenticated": set(ALL_ROLES) - {"anonymous"},
    "citizen": {"citizen", "visitor", "platform_admin"},
    "citizen_only": {"citizen", "visitor"},
    "staff": {*STAFF_ROLES, "platform_admin"},
    "city_admin": {"city_admin", "platform_admin"},
    "platform_admin": {"platform_admin"},
    "admin_site": {"city_admin", "platform_admin"},
    "self": set(ALL_ROLES) - {"anonymous"},
    "nobody": set(),
    # Reports: who handles reports (reports.handle; council members only read statistics) and who files
    # them for callers and walk-ins (reports.file_on_behalf).
    "reports_handling": {"agency_staff", "agency_manager", "operator", "city_admin", "platform_admin"},
    "reports_filing": {"agency_staff", "agency_manager", "operator", "platform_admin"},
    "reports_stats": {"agency_manager", "operator", "council_member", "city_admin", "platform_admin"},
    # Appointments: who serves at an office's counters (appointments.serve).
    "appointments_serving": {"agency_staff", "agency_manager", "operator", "city_admin", "platform_admin"},
    # Warnings: who drafts (alerts.draft), who approves, updates and cancels (alerts.approve), and who
    # reads the "are you safe?" replies (alerts.read_replies).
    "alerts_drafting": {"agency_staff", "agency_manager", "operator", "city_admin", "platform_admin"},
    "alerts_approving": {"agency_manager", "operator", "city_admin", "platform_admin"},
    "alerts_replies": {"agency_manager", "operator", "city_admin", "platform_admin"},
    # Control centre (issue 7): who opens it (ioc.view) and who handles alarms, writes the incident log
    # and hands shifts over (ioc.alarm.handle, ioc.log.write, ioc.handover).
    "ioc_viewing": {"operator", "city_admin", "council_member", "agency_manager", "platform_admin"},
    "ioc_handling": {"operator", "city_admin", "platform_admin"},
    # Spatial layers (issue 7): the staff area (any of layers.manage, layers.import, layers.population),
    # managing the catalogue (layers.manage), importing (layers.import), population (layers.population).
    "layers_staff": {"agency_manager", "operator", "city_admin", "platform_admin"},
    "layers_managing": {"operator", "city_admin", "platform_admin"},
    "layers_importing": {"agency_manager", "operator", "city_admin", "platform_admin"},
    "layers_population": {"city_admin", "platform_admin"},
    # Smart-city programme (issue 8): who edits it (programme.edit: the council) and who updates projects
    # (programme.project.update: the council and the project's agency — checked per project).
    "programme_editing": {"council_member", "city_admin", "platform_admin"},
    "programme_project_updating": {"agency_staff", "agency_manager", "council_member", "city_admin",
                                   "platform_admin"},
    # --- KPIs (issue 9): engine (catalogue, values, manual values). The council computes, approves manual
    # values and publishes indicators (kpis.compute, kpis.approve).
    "kpis_council": {"council_member", "city_admin", "platform_admin"},
    # --- KPIs (issue 9): surveys. Who builds, opens and closes surveys (surveys.manage).
    "surveys_managing": {"agency_manager", "council_member", "city_admin", "platform_admin"},
}

ACCESS: dict[str, str | dict[str, str]] = {
    # --- Django admin: every model admin is platform-only unless listed below --------------------
    "admin:index": "admin_site",
    "admin:login": "public",
    "admin:logout": "public",
    "admin:password_change": "admin_site",
    "admin:password_change_done": "admin_site",
    "admin:autocomplete": "nobody",  # refuses without a field to complete; then checks view permission
    "admin:jsi18n": "admin_site",
    "admin:view_on_site": "admin_site",
    "admin:app_list": "admin_site",
    "admin/(?P<url>.*)$": "public",  # the admin's catch-all: a 404 or a redirect to the admin login
    "admin:*": "platform_admin",
    "admin/*/<path:object_id>/": "admin_site",  # unnamed redirects to the change page, which checks
    # Core models city administrators manage for their own city.
    "admin:core_auditevent_changelist": "admin_site",
    "admin:core_auditevent_change": "admin_site",  # read-only view
    "admin:core_auditevent_history": "admin_site",
    "admin:core_auditevent_add": "nobody",
    "admin:core_auditevent_delete": "nobody",
    "admin:core_city_changelist": "admin_site",
    "admin:core_city_change": "admin_site",
    "admin:core_city_history": "admin_site",
    "admin:core_city_add": "platform_admin",
    "admin:core_city_delete": "nobody",  # deactivate a city; deleting would cascade to all it owns
    "admin:core_*": "admin_site",
    # Logs to read, never to write by hand.
    "admin:core_feedback_add": "nobody",
    "admin:core_feedback_delete": "nobody",
    "admin:core_delivery_add": "nobody",
    "admin:core_delivery_delete": "nobody",
    "admin:django_tasks_database_dbtaskresult_add": "nobody",
    "admin:django_tasks_database_dbtaskresult_delete": "nobody",
    "admin:alerts_*": "admin_site",
    # Warnings change only through the warnings desk; their logs and people's choices are read-only.
    "admin:alerts_publicwarning_add": "nobody",
    "admin:alerts_publicwarning_delete": "nobody",
    "admin:alerts_fanout_add": "nobody",
    "admin:alerts_fanout_delete": "nobody",
    "admin:alerts_subscription_add": "nobody",
    "admin:alerts_subscription_delete": "nobody",
    "admin:alerts_safetyreply_add": "nobody",
    "admin:alerts_safetyreply_delete": "nobody",
    "admin:identity_*": "admin_site",
    "admin:identity_user_add": "platform_admin",
    "admin:identity_user_delete": "nobody",  # accounts are erased (personal data), not deleted
    "admin:identity_consent_add": "nobody",
    "admin:identity_consent_delete": "nobody",
    # Reports: city administrators configure their city's categories, routing, dispatch, templates and
    # Open311 keys; reports are read-only there (the workflow runs through services).
    "admin:reports_*": "admin_site",
    "admin:reports_report_add": "nobody",
    "admin:reports_report_delete": "nobody",
    # Dispatch tickets are written by the dispatch tasks; the admin lists them and retries failed ones.
    "admin:reports_externalticket_add": "nobody",
    "admin:reports_externalticket_delete": "nobody",
    # Appointments: city administrators configure offices, counters, services and closed days; slots and
    # bookings are read-only there (capacity and the queue move only through services).
    "admin:appointments_*": "admin_site",
    "admin:appointments_slot_add": "nobody",
    "admin:appointments_slot_delete": "nobody",
    "admin:appointments_booking_add": "nobody",
    "admin:appointments_booking_delete": "nobody",
    # Sensing: city administrators configure quantities, sensors, data sources and ingestion keys; the
    # rejection counters are a log written by ingestion.
    "admin:sensing_*": "admin_site",
    "admin:sensing_rejectioncount_add": "nobody",
    "admin:sensing_rejectioncount_delete": "nobody",
    # The walk's sample quantity (id 1) is a global one: only platform administrators delete those.
    "admin:sensing_quantity_delete": "platform_admin",
    # Spatial layers (issue 7): city administrators configure their city's layers and population data;
    # the imports changelog and the features are read-only there (they change only by import).
    "admin:layers_*": "admin_site",
    "admin:layers_layerimport_add": "nobody",
    "admin:layers_layerimport_delete": "nobody",
    "admin:layers_feature_add": "nobody",
    "admin:layers_feature_delete": "nobody",
    # --- The shell ------------------------------------------------------------------------------------
    "web:home": "public",
    "web:offline": "public",
    "web:webmanifest": "public",
    "web:service_worker": "public",
    "web:staff_home": "staff",
    "set_language": "public",
    "javascript-catalog": "public",
    # --- Identity pages -------------------------------------------------------------------------------
    "identity:signup": "public",
    "identity:signup_confirm": "public",
    "identity:signin": "public",
    "identity:signin_confirm": "public",
    "identity:staff_signin": "public",
    "identity:staff_totp": "public",  # the second step of a staff sign-in in progress
    "identity:totp_enrol": "staff",
    "identity:signout": "public",
    "identity:account": "authenticated",
    "identity:account_export": "citizen_only",
    "identity:account_delete": "citizen_only",
    "identity:privacy": "public",
    # --- Notifications pages (core) -------------------------------------------------------------------
    "core:notifications": "authenticated",
    "core:notification_read": "self",
    "core:notifications_read_all": "authenticated",
    "core:notification_preferences": "authenticated",
    # --- Reports pages (the walk's sample reference does not exist: 404 for those who get past the checks)
    "reports:list": "public",
    "reports:map": "public",
    "reports:map_geojson": "public",
    "reports:map_points": "public",
    "reports:new": {"GET": "public", "*": "citizen"},  # others GET a sign-in prompt
    "reports:questions": "public",
    "reports:preview": "public",
    "reports:on_behalf": "reports_filing",
    "reports:queue": "reports_handling",
    "reports:stats_csv": "reports_stats",
    "reports:detail": "public",
    "reports:photo": "public",
    "reports:follow": "authenticated",
    "reports:provide_info": "self",
    "reports:confirm": "self",
    "reports:reopen": "self",
    "reports:rate": "self",
    "reports:handle": "reports_handling",
    "reports:contact": "reports_handling",
    "reports:handle_action": "reports_handling",
    "GET /api/v1/reports/categories": "public",
    "GET /api/v1/reports/routing-preview": "public",
    "GET /api/v1/reports/nearby": "public",
    "POST /api/v1/reports/": "citizen",
    "GET /api/v1/reports/{reference}": "public",
    "POST /api/v1/reports/{reference}/follow": "authenticated",
    "POST /api/v1/reports/{reference}/rating": "self",
    # --- Appointment pages: browsing offices and free times is public, booking is for citizens (others
    # GET the page with a sign-in prompt); a booking is its citizen's (and its office's staff's); the
    # counter screens are for those who serve; the waiting-room screen is public -------------------
    "appointments:home": "public",
    "appointments:offices": "public",
    "appointments:slots": "public",
    "appointments:confirm": {"GET": "public", "*": "citizen"},
    "appointments:mine": "authenticated",
    "appointments:detail": "self",
    "appointments:qr": "self",
    "appointments:ics": "self",
    "appointments:cancel": "self",
    "appointments:reschedule": "self",
    "appointments:rate": "self",
    "appointments:desk": "appointments_serving",
    "appointments:counter": "appointments_serving",
    "appointments:check_in": "appointments_serving",
    "appointments:call_next": "appointments_serving",
    "appointments:walk_in": "appointments_serving",
    "appointments:booking_action": "appointments_serving",
    "appointments:now_serving": "public",
    "appointments:now_serving_board": "public",
    "GET /api/v1/appointments/services": "public",
    "GET /api/v1/appointments/offices": "public",
    "GET /api/v1/appointments/slots": "public",
    "POST /api/v1/appointments/bookings": "citizen",
    "GET /api/v1/appointments/bookings": "authenticated",
    "GET /api/v1/appointments/bookings/{code}": "self",
    "POST /api/v1/appointments/bookings/{code}/cancel": "self",
    "POST /api/v1/appointments/bookings/{code}/reschedule": "self",
    "POST /api/v1/appointments/bookings/{code}/rating": "self",
    "POST /api/v1/appointments/check-in": "appointments_serving",
    "POST /api/v1/appointments/counters/{counter_id}/call-next": "appointments_serving",
    "POST /api/v1/appointments/bookings/{code}/serving": "appointments_serving",
    "POST /api/v1/appointments/bookings/{code}/served": "appointments_serving",
    "POST /api/v1/appointments/bookings/{code}/no-show": "appointments_serving",
    # --- Sensing API: public reads; writing observations needs an ingestion key, not a session, so the
    # walk's key-less POST is refused to everyone --------------------------------------------------------
    "POST /api/v1/sensing/observations": "nobody",
    "GET /api/v1/sensing/quantities": "public",
    "GET /api/v1/sensing/sensors": "public",
    "GET /api/v1/sensing/sensors/{code}": "public",
    "GET /api/v1/sensing/sensors/{code}/series": "public",
    "GET /api/v1/sensing/aggregates": "public",
    # --- Sensor pages: public reads (private sensors are 404 to those without sensing.read_private; the
    # walk's sample code does not exist); pages only read, so any other method is refused (405) --------
    "sensing:map": {"GET": "public", "*": "nobody"},
    "sensing:map_points": {"GET": "public", "*": "nobody"},
    "sensing:list": {"GET": "public", "*": "nobody"},
    "sensing:detail": {"GET": "public", "*": "nobody"},
    "sensing:series": {"GET": "public", "*": "nobody"},
    # --- Open311 GeoReport v2 (reports/open311): public reads; a POST needs an api_key, not a session,
    # so the walk's key-less POST is refused to everyone -------------------------------------------------
    "open311:requests": {"GET": "public", "*": "nobody"},
    "open311:*": {"GET": "public", "*": "nobody"},
    # --- NGSI-LD (sensing/ngsild): public reads; writes need an ingestion key (Bearer), never a session,
    # so the walk's key-less POST is refused to everyone (401) --------------------------------------------
    "ngsild:*": {"GET": "public", "*": "nobody"},
    # --- Warnings: the staff desk (drafting, approving), the delivery log (drafters, and those who read
    # statistics) and the safety-replies map; the walk's sample uid does not exist (404 past the checks)
    "alerts:list": {"GET": "public", "*": "nobody"},
    "alerts:feed": {"GET": "public", "*": "nobody"},
    "alerts:map_geojson": {"GET": "public", "*": "nobody"},
    "alerts:detail": {"GET": "public", "*": "nobody"},
    "alerts:cap": {"GET": "public", "*": "nobody"},
    "alerts:cap_version": {"GET": "public", "*": "nobody"},
    "alerts:attachment": {"GET": "public", "*": "nobody"},
    "alerts:subscription": "citizen",
    "alerts:safety": {"GET": "nobody", "*": "citizen"},
    "alerts:staff_home": "alerts_drafting",
    "alerts:staff_new": "alerts_drafting",
    "alerts:staff_detail": "alerts_drafting",
    "alerts:staff_edit": "alerts_drafting",
    "alerts:staff_approve": "alerts_approving",
    "alerts:staff_reject": "alerts_approving",
    "alerts:staff_update": "alerts_approving",
    "alerts:staff_cancel": "alerts_approving",
    "alerts:staff_deliveries": "staff",
    "alerts:staff_replies": "alerts_replies",
    "alerts:staff_replies_geojson": "alerts_replies",
    "GET /api/v1/alerts/warnings": "public",
    "GET /api/v1/alerts/warnings/{uid}": "public",
    "GET /api/v1/alerts/subscription": "citizen",
    "PUT /api/v1/alerts/subscription": "citizen",
    "POST /api/v1/alerts/warnings/{uid}/safety": "citizen",
    "POST /api/v1/alerts/warnings": "alerts_drafting",
    "POST /api/v1/alerts/warnings/{uid}/approve": "alerts_approving",
    "POST /api/v1/alerts/warnings/{uid}/reject": "alerts_approving",
    "POST /api/v1/alerts/warnings/{uid}/update": "alerts_approving",
    "POST /api/v1/alerts/warnings/{uid}/cancel": "alerts_approving",
    # --- Control-centre drill-downs (issue 7, what sensing, reports and alerts contribute): HTML
    # fragments for the control centre's side drawer, readable like the pages they summarise — public
    # sensors, reports and warnings to all; private sensors, and confidential or hidden reports, to the
    # staff allowed (404 otherwise, as for the walk's sample codes); read-only, other methods 405 ----
    "sensing:fragment": {"GET": "public", "*": "nobody"},
    "reports:fragment": {"GET": "public", "*": "nobody"},
    "alerts:fragment": {"GET": "public", "*": "nobody"},
    # --- Control centre (issue 7, ioc): the screen, its panels' JSON, the alarm list htmx polls and a
    # ward's fragment are for those who may open it; the alarms, log and handover pages too, their POSTs
    # (acknowledge, assign, close, a log entry, a handover and accepting one) for those who handle
    # alarms. The walk's sample ids and codes do not exist (404 past the checks); its empty POSTs are
    # refused as bad input (4xx). The admin is read-only. -------------------------------------------
    "ioc:screen": {"GET": "ioc_viewing", "*": "nobody"},
    "ioc:panel": {"GET": "ioc_viewing", "*": "nobody"},
    "ioc:alarms": {"GET": "ioc_viewing", "*": "nobody"},
    "ioc:alarms_fragment": {"GET": "ioc_viewing", "*": "nobody"},
    "ioc:ward": {"GET": "ioc_viewing", "*": "nobody"},
    "ioc:alarm_acknowledge": "ioc_handling",
    "ioc:alarm_assign": "ioc_handling",
    "ioc:alarm_close": "ioc_handling",
    "ioc:log": {"GET": "ioc_viewing", "*": "ioc_handling"},
    "ioc:handover": {"GET": "ioc_viewing", "*": "ioc_handling"},
    "ioc:handover_accept": "ioc_handling",
    "GET /api/v1/ioc/panels": "ioc_viewing",
    "GET /api/v1/ioc/panels/{code}": "ioc_viewing",
    "GET /api/v1/ioc/alarms": "ioc_viewing",
    "POST /api/v1/ioc/alarms/{alarm_id}/acknowledge": "ioc_handling",
    "POST /api/v1/ioc/alarms/{alarm_id}/assign": "ioc_handling",
    "POST /api/v1/ioc/alarms/{alarm_id}/close": "ioc_handling",
    "GET /api/v1/ioc/log": "ioc_viewing",
    "POST /api/v1/ioc/log": "ioc_handling",
    "GET /api/v1/ioc/handovers": "ioc_viewing",
    "POST /api/v1/ioc/handovers": "ioc_handling",
    "POST /api/v1/ioc/handovers/{handover_id}/accept": "ioc_handling",
    "GET /api/v1/ioc/wards/{code}": "ioc_viewing",
    "admin:ioc_*": "admin_site",
    "admin:ioc_alarm_add": "nobody",
    "admin:ioc_alarm_delete": "nobody",
    "admin:ioc_incidententry_add": "nobody",
    "admin:ioc_incidententry_delete": "nobody",
    "admin:ioc_shifthandover_add": "nobody",
    "admin:ioc_shifthandover_delete": "nobody",
    # --- Spatial layers (layers, issue 7): public reads (an internal layer is a 404 to those without
    # layers.view_internal; the walk's sample code does not exist), the staff area under /layers/staff/
    # (the sample layer and import do not exist: 404 past the checks) ---------------------------------
    "layers:map": {"GET": "public", "*": "nobody"},
    "layers:catalogue": {"GET": "public", "*": "nobody"},
    "layers:search": {"GET": "public", "*": "nobody"},
    "layers:detail": {"GET": "public", "*": "nobody"},
    "layers:features": {"GET": "public", "*": "nobody"},
    "layers:export": {"GET": "public", "*": "nobody"},
    "layers:staff_home": {"GET": "layers_staff", "*": "nobody"},
    "layers:staff_imports": {"GET": "layers_staff", "*": "nobody"},
    "layers:staff_import_result": {"GET": "layers_staff", "*": "nobody"},
    "layers:staff_new": "layers_managing",
    "layers:staff_edit": "layers_managing",
    "layers:staff_import": "layers_importing",
    "layers:staff_population": "layers_population",
    "GET /api/v1/layers/": "public",
    "GET /api/v1/layers/search": "public",
    "GET /api/v1/layers/measures": "public",
    "GET /api/v1/layers/{code}": "public",
    "GET /api/v1/layers/{code}/features": "public",
    "GET /api/v1/layers/{code}/features/{fid}": "public",
    "GET /api/v1/layers/{code}/export.geojson": "public",
    "GET /api/v1/layers/{code}/imports": "public",
    "POST /api/v1/layers/": "layers_managing",
    "PATCH /api/v1/layers/{code}": "layers_managing",
    "POST /api/v1/layers/{code}/imports": "layers_importing",
    "POST /api/v1/layers/population": "layers_population",
    # --- Smart-city programme API (programme, issue 8): the published programme, goals, projects, one
    # project and the timeline are public (staff get everything; with no programme, or the walk's sample
    # code, a 404 to all); the other reads are for staff (programme.view); the programme, its workflow
    # and versions and the council's records are for the council; records of a project (the project,
    # budget lines, phases, milestones, risks, lessons) also for agency managers and staff, whom the
    # services check against the project's agency (the walk's sample ids do not exist: 404, and its empty
    # bodies are refused as bad input) ------------------------------------------------------------------
    "GET /api/v1/programme/": "public",
    "GET /api/v1/programme/goals": "public",
    "GET /api/v1/programme/projects": "public",
    "GET /api/v1/programme/projects/{code}": "public",
    "GET /api/v1/programme/timeline": "public",
    "GET /api/v1/programme/*": "staff",
    "PATCH /api/v1/programme/": "programme_editing",
    "POST /api/v1/programme/transition": "programme_editing",
    "POST /api/v1/programme/versions": "programme_editing",
    "POST /api/v1/programme/records/*": "programme_editing",
    "PATCH /api/v1/programme/records/*": "programme_editing",
    "DELETE /api/v1/programme/records/*": "programme_editing",
    "POST /api/v1/programme/records/projects": "programme_editing",
    "DELETE /api/v1/programme/records/projects/{record_id}": "programme_editing",
    "DELETE /api/v1/programme/records/budget/{record_id}": "programme_editing",
    "POST /api/v1/programme/records/budget": "programme_editing",
    "PATCH /api/v1/programme/records/projects/{record_id}": "programme_project_updating",
    "PATCH /api/v1/programme/records/budget/{record_id}": "programme_project_updating",
    "POST /api/v1/programme/records/phases": "programme_project_updating",
    "PATCH /api/v1/programme/records/phases/{record_id}": "programme_project_updating",
    "DELETE /api/v1/programme/records/phases/{record_id}": "programme_project_updating",
    "POST /api/v1/programme/records/milestones": "programme_project_updating",
    "PATCH /api/v1/programme/records/milestones/{record_id}": "programme_project_updating",
    "DELETE /api/v1/programme/records/milestones/{record_id}": "programme_project_updating",
    "POST /api/v1/programme/records/risks": "programme_project_updating",
    "PATCH /api/v1/programme/records/risks/{record_id}": "programme_project_updating",
    "DELETE /api/v1/programme/records/risks/{record_id}": "programme_project_updating",
    "POST /api/v1/programme/records/lessons": "programme_project_updating",
    "PATCH /api/v1/programme/records/lessons/{record_id}": "programme_project_updating",
    "DELETE /api/v1/programme/records/lessons/{record_id}": "programme_project_updating",
    # The programme admin: city administrators, in their city; plan versions are read-only snapshots.
    "admin:programme_*": "admin_site",
    "admin:programme_planversion_add": "nobody",
    "admin:programme_planversion_delete": "nobody",
    # --- Smart-city programme (issue 8): public pages, and the staff area (programme.view to read;
    # the council edits; a project's parts also its agency, checked per project) -----------------------
    "programme:public": {"GET": "public", "*": "nobody"},
    "programme:project": {"GET": "public", "*": "nobody"},
    "programme:plan": {"GET": "public", "*": "nobody"},
    "programme:lessons": {"GET": "public", "*": "nobody"},
    "programme:staff_home": {"GET": "staff", "*": "nobody"},
    "programme:staff_plan": {"GET": "staff", "*": "programme_editing"},
    "programme:staff_plan_status": "programme_editing",
    "programme:staff_versions": {"GET": "staff", "*": "programme_editing"},
    "programme:staff_plan_print": {"GET": "staff", "*": "nobody"},
    "programme:staff_team": {"GET": "staff", "*": "nobody"},
    "programme:staff_swot": {"GET": "staff", "*": "nobody"},
    "programme:staff_assessment": {"GET": "staff", "*": "nobody"},
    "programme:staff_risks": {"GET": "staff", "*": "nobody"},
    "programme:staff_stakeholders": {"GET": "staff", "*": "nobody"},
    "programme:staff_goals": {"GET": "staff", "*": "nobody"},
    "programme:staff_projects": {"GET": "staff", "*": "nobody"},
    "programme:staff_project": {"GET": "staff", "*": "nobody"},
    "programme:staff_project_add": "programme_project_updating",  # POST only
    "programme:staff_project_alternatives": "programme_editing",  # POST only
    "programme:staff_timeline": {"GET": "staff", "*": "nobody"},
    "programme:staff_vendors": {"GET": "staff", "*": "nobody"},
    "programme:staff_challenges": {"GET": "staff", "*": "nobody"},
    "programme:staff_training": {"GET": "staff", "*": "programme_editing"},
    "programme:staff_cooperation": {"GET": "staff", "*": "nobody"},
    "programme:staff_exports": {"GET": "staff", "*": "nobody"},
    "programme:staff_export": {"GET": "staff", "*": "nobody"},
    "programme:staff_add": "programme_editing",  # POST only
    "programme:staff_item_edit": "programme_project_updating",  # programme-level rows: the council only
    "programme:staff_item_delete": "programme_project_updating",  # POST only; likewise
    # --- KPIs (issue 9): surveys. Citizens' pages are public (a survey for signed-in citizens asks them
    # to sign in; the walk's sample code does not exist: 404); the staff pages read with surveys.view
    # (every staff role) and build with surveys.manage; answering through the API needs a session; the
    # admin edits texts and dates only (surveys are created and removed on the staff pages, not there).
    "surveys:list": {"GET": "public", "*": "nobody"},
    "surveys:survey": "public",
    "surveys:thanks": {"GET": "public", "*": "nobody"},
    "surveys:staff_list": {"GET": "staff", "*": "surveys_managing"},
    "surveys:staff_survey": {"GET": "staff", "*": "surveys_managing"},
    "surveys:staff_question_add": "surveys_managing",  # POST only
    "surveys:staff_question_delete": "surveys_managing",  # POST only
    "surveys:staff_question_move": "surveys_managing",  # POST only
    "surveys:staff_status": "surveys_managing",  # POST only
    "surveys:staff_results": {"GET": "staff", "*": "nobody"},
    "surveys:staff_export": {"GET": "staff", "*": "nobody"},
    "GET /api/v1/surveys/": "public",
    "GET /api/v1/surveys/{code}": "public",
    "POST /api/v1/surveys/{code}/responses": "authenticated",
    "GET /api/v1/surveys/{code}/results": "staff",
    "admin:surveys_*": "admin_site",
    "admin:surveys_survey_add": "nobody",
    "admin:surveys_survey_delete": "nobody",
    # --- The JSON API (also walked through the OpenAPI spec, below) -----------------------------------
    "api:openapi-json": "public",
    "api:openapi-view": "public",
    "api:api-root": "public",
    "GET /api/v1/cities": "public",
    "GET /api/v1/communes": "public",
    "GET /api/v1/communes.geojson": "public",
    "GET /api/v1/locate": "public",
    "GET /api/v1/notifications": "authenticated",
    "POST /api/v1/notifications/read-all": "authenticated",
    "POST /api/v1/notifications/{notification_id}/read": "self",
    "GET /api/v1/notifications/preferences": "authenticated",
    "PUT /api/v1/notifications/preferences": "authenticated",
    "POST /api/v1/feedback": "citizen",
    "GET /api/v1/feedback/summary": "staff",
    "GET /api/v1/identity/csrf": "public",
    "POST /api/v1/identity/signup/start": "public",
    "POST /api/v1/identity/signup/confirm": "public",
    "POST /api/v1/identity/signin/start": "public",
    "POST /api/v1/identity/signin/confirm": "public",
    "GET /api/v1/identity/me": "authenticated",
    "GET /api/v1/identity/me/export": "citizen_only",
    "DELETE /api/v1/identity/me": "authenticated",
    "POST /api/v1/identity/signout": "authenticated",
    # --- KPIs (issue 9): engine (catalogue, values, manual values). Pages: staff read the catalogue and
    # enter manual values (kpis.view, kpis.enter); the council switches publication (POST catalogue) and
    # approves (manual_review). API: the catalogue, an indicator and its values are public (only what the
    # city publishes; staff see all — the walk's sample code is a 404 to the public); compute and decisions
    # are the council's, entering is staff's. Admin: city administrators in their city.
    "kpis:catalogue": {"GET": "staff", "POST": "kpis_council", "*": "nobody"},
    "kpis:manual": {"GET": "staff", "POST": "staff", "*": "nobody"},
    "kpis:manual_review": "kpis_council",
    "kpis:export": {"GET": "staff", "*": "nobody"},
    "GET /api/v1/kpis/indicators": "public",
    "GET /api/v1/kpis/indicator": "public",
    "GET /api/v1/kpis/indicators/{code}": "public",
    "GET /api/v1/kpis/values": "public",
    "POST /api/v1/kpis/compute": "kpis_council",
    "POST /api/v1/kpis/manual": "staff",
    "POST /api/v1/kpis/manual/{value_id}/decision": "kpis_council",
    "admin:kpis_*": "admin_site",
    "admin:kpis_value_add": "nobody",
    # The walk's sample indicator is a shared one (a city's administrators delete only their own); values
    # are deleted by platform administrators only.
    "admin:kpis_indicator_delete": "platform_admin",
    "admin:kpis_value_delete": "platform_admin",
    "admin:kpis_evaluation_add": "nobody",
    "admin:kpis_evaluation_delete": "nobody",
    # --- KPIs (issue 9): evaluation (dashboard, indicator page, report, ROI, public page). Staff read the
    # dashboard, indicator pages and return on investment (kpis.view); the council reads and exports the
    # report, issues and reads issued reports (kpis.approve) and records benefits (kpis.manage, POST on a
    # project's ROI page); the public page is everyone's. The walk's samples (code "sample", pk 1, format
    # "sample") are 404s to those admitted.
    "kpis:dashboard": {"GET": "staff", "*": "nobody"},
    "kpis:indicator": {"GET": "staff", "*": "nobody"},
    "kpis:report": {"GET": "kpis_council", "*": "nobody"},
    "kpis:report_export": {"GET": "kpis_council", "*": "nobody"},
    "kpis:issue": "kpis_council",  # POST only
    "kpis:evaluations": {"GET": "kpis_council", "*": "nobody"},
    "kpis:evaluation": {"GET": "kpis_council", "*": "nobody"},
    "kpis:roi": {"GET": "staff", "*": "nobody"},
    "kpis:roi_project": {"GET": "staff", "POST": "kpis_council", "*": "nobody"},
    "kpis:public": {"GET": "public", "*": "nobody"},
}
