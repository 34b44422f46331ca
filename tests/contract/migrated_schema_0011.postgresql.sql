column alembic_version.version_num character varying(32) NOT NULL
column apps.client_id character varying(128) NOT NULL
column apps.tenant_id character varying(64) NOT NULL
column apps.name character varying(200) NOT NULL
column apps.secret_sealed bytea NOT NULL
column apps.secret_version integer NOT NULL
column apps.scopes text NOT NULL
column apps.signing character varying(16) NOT NULL
column apps.agentid bigint
column apps.ctime bigint NOT NULL
column apps.platform character varying(16) NOT NULL DEFAULT 'wps'::character varying
column attr_defs.tenant_id character varying(64) NOT NULL
column attr_defs.id character varying(64) NOT NULL
column attr_defs.name character varying(200) NOT NULL
column attr_defs.value_type character varying(32) NOT NULL
column attr_defs.options text NOT NULL
column attr_defs.sort_order bigint NOT NULL
column attr_defs.ctime bigint NOT NULL
column attr_values.tenant_id character varying(64) NOT NULL
column attr_values.user_id character varying(64) NOT NULL
column attr_values.attr_id character varying(64) NOT NULL
column attr_values.value text NOT NULL
column change_counter.id integer NOT NULL
column change_counter.seq bigint NOT NULL
column change_log.id bigint NOT NULL DEFAULT nextval('change_log_id_seq'::regclass)
column change_log.seq bigint NOT NULL
column change_log.tenant_id character varying(64) NOT NULL
column change_log.kind character varying(16) NOT NULL
column change_log.entity_key character varying(128) NOT NULL
column change_records.seq bigint NOT NULL
column change_records.n integer NOT NULL
column change_records.tenant_id character varying(64) NOT NULL
column change_records.kind character varying(32) NOT NULL
column change_records.op character varying(16) NOT NULL
column change_records.entity_id character varying(128) NOT NULL
column change_records.fields text NOT NULL
column change_records.before text
column change_records.actor character varying(128)
column change_records.committed_at bigint NOT NULL
column change_records.after text
column deliveries.id bigint NOT NULL DEFAULT nextval('deliveries_id_seq'::regclass)
column deliveries.subscription_id character varying(64) NOT NULL
column deliveries.tenant_id character varying(64) NOT NULL
column deliveries.event_id character varying(64) NOT NULL
column deliveries.seq bigint NOT NULL
column deliveries.topic character varying(64) NOT NULL
column deliveries.operation character varying(16) NOT NULL
column deliveries.entity_keys text NOT NULL
column deliveries.body bytea NOT NULL
column deliveries.status character varying(16) NOT NULL
column deliveries.attempts integer NOT NULL
column deliveries.next_attempt_at bigint NOT NULL
column deliveries.first_attempt_at bigint
column deliveries.lease_owner character varying(64)
column deliveries.lease_until bigint
column deliveries.last_status integer
column deliveries.last_error text
column deliveries.created bigint NOT NULL
column deliveries.delivered_at bigint
column depts.tenant_id character varying(64) NOT NULL
column depts.id bigint NOT NULL
column depts.parent_id bigint
column depts.name character varying(200) NOT NULL
column depts.sort_order bigint NOT NULL
column depts.ex_dept_id character varying(128)
column depts.abs_path text NOT NULL
column depts.ctime bigint NOT NULL
column dingtalk_tokens.token_hash character varying(64) NOT NULL
column dingtalk_tokens.client_id character varying(128) NOT NULL
column dingtalk_tokens.tenant_id character varying(64) NOT NULL
column dingtalk_tokens.token_sealed bytea NOT NULL
column dingtalk_tokens.secret_version integer NOT NULL
column dingtalk_tokens.expires_at bigint NOT NULL
column dingtalk_tokens.ctime bigint NOT NULL
column dismission_reasons.tenant_id character varying(64) NOT NULL
column dismission_reasons.id character varying(64) NOT NULL
column dismission_reasons.kind character varying(16) NOT NULL
column dismission_reasons.name character varying(200) NOT NULL
column dismission_reasons.sort_order integer NOT NULL
column dismissions.tenant_id character varying(64) NOT NULL
column dismissions.user_id character varying(64) NOT NULL
column dismissions.state character varying(16) NOT NULL
column dismissions.last_work_day bigint NOT NULL
column dismissions.memo text NOT NULL
column dismissions.voluntary text NOT NULL
column dismissions.passive text NOT NULL
column dismissions.pre_status character varying(64)
column dismissions.handover_user_id character varying(64)
column dismissions.depts text NOT NULL
column dismissions.main_dept_id bigint
column dismissions.main_dept_name character varying(200)
column dismissions.ctime bigint NOT NULL
column dismissions.mtime bigint NOT NULL
column fault_rules.id bigint NOT NULL DEFAULT nextval('fault_rules_id_seq'::regclass)
column fault_rules.spec text NOT NULL
column fault_rules.remaining integer
column fault_rules.hits bigint NOT NULL
column journal_entries.id bigint NOT NULL DEFAULT nextval('journal_entries_id_seq'::regclass)
column journal_entries.at double precision NOT NULL
column journal_entries.method character varying(16) NOT NULL
column journal_entries.path text NOT NULL
column journal_entries.query bytea NOT NULL
column journal_entries.headers bytea NOT NULL
column journal_entries.body bytea NOT NULL
column journal_entries.body_size bigint NOT NULL
column journal_entries.status integer NOT NULL
column journal_entries.reply_head bytea NOT NULL
column journal_entries.latency double precision NOT NULL
column journal_entries.request_id character varying(32) NOT NULL
column journal_entries.fault character varying(32)
column journal_entries.app character varying(128)
column leave_log.tenant_id character varying(64) NOT NULL
column leave_log.time bigint NOT NULL
column leave_log.user_id character varying(64) NOT NULL
column leave_log.reason character varying(16) NOT NULL
column leave_log.name character varying(200) NOT NULL
column leave_log.mobile character varying(64)
column memberships.tenant_id character varying(64) NOT NULL
column memberships.user_id character varying(64) NOT NULL
column memberships.dept_id bigint NOT NULL
column memberships.is_leader boolean NOT NULL
column memberships.sort_order bigint NOT NULL
column roster_field_options.tenant_id character varying(64) NOT NULL
column roster_field_options.field_code character varying(64) NOT NULL
column roster_field_options.value character varying(64) NOT NULL
column roster_field_options.label character varying(200) NOT NULL
column roster_field_options.sort_order integer NOT NULL
column roster_field_options.deleted boolean NOT NULL
column roster_values.tenant_id character varying(64) NOT NULL
column roster_values.user_id character varying(64) NOT NULL
column roster_values.group_id character varying(64) NOT NULL
column roster_values.row_index integer NOT NULL
column roster_values.field_code character varying(64) NOT NULL
column roster_values.value text NOT NULL
column server_settings.key character varying(64) NOT NULL
column server_settings.value text NOT NULL
column stream_tickets.ticket character varying(64) NOT NULL
column stream_tickets.tenant character varying(64) NOT NULL
column stream_tickets.app character varying(128) NOT NULL
column stream_tickets.topics text NOT NULL
column stream_tickets.expires_at bigint NOT NULL
column stream_tickets.used_at bigint
column stream_tickets.connection_id character varying(64)
column stream_tickets.worker character varying(128)
column stream_tickets.alive_until bigint
column stream_tickets.closed_at bigint
column subscriptions.id character varying(64) NOT NULL
column subscriptions.tenant_id character varying(64) NOT NULL
column subscriptions.kind character varying(16) NOT NULL
column subscriptions.app character varying(128) NOT NULL
column subscriptions.url text NOT NULL
column subscriptions.topics text NOT NULL
column subscriptions.payload character varying(16) NOT NULL
column subscriptions.token_sealed bytea
column subscriptions.aes_key_sealed bytea
column subscriptions.status character varying(16) NOT NULL
column subscriptions.cursor_seq bigint NOT NULL
column subscriptions.created bigint NOT NULL
column subscriptions.missed bigint NOT NULL DEFAULT '0'::bigint
column subscriptions.missed_until bigint
column tenants.id character varying(64) NOT NULL
column tenants.name character varying(200) NOT NULL
column tenants.wps_company_id character varying(64)
column tenants.dingtalk_corp_id character varying(64)
column tenants.next_dept_id bigint NOT NULL
column tenants.seed text
column tenants.ctime bigint NOT NULL
column users.tenant_id character varying(64) NOT NULL
column users.id character varying(64) NOT NULL
column users.user_name character varying(200) NOT NULL
column users.email character varying(254)
column users.phone character varying(32)
column users.gender character varying(16) NOT NULL
column users.employee_id character varying(64)
column users.employer character varying(200)
column users.employment_status character varying(32)
column users.employment_type character varying(32)
column users.ex_user_id character varying(128)
column users.leader_id character varying(64)
column users.login_name character varying(128)
column users.role character varying(16) NOT NULL
column users.status character varying(16) NOT NULL
column users.title character varying(200)
column users.telephone character varying(32)
column users.work_place character varying(200)
column users.city character varying(100)
column users.country character varying(100)
column users.avatar character varying(1024)
column users.def_dept_id bigint
column users.ctime bigint NOT NULL
column users.mtime bigint NOT NULL
constraint alembic_version alembic_version_pkc PRIMARY KEY (version_num)
constraint apps apps_pkey PRIMARY KEY (client_id)
constraint apps apps_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE
constraint attr_defs attr_defs_pkey PRIMARY KEY (tenant_id, id)
constraint attr_defs attr_defs_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE
constraint attr_values attr_values_pkey PRIMARY KEY (tenant_id, user_id, attr_id)
constraint attr_values attr_values_tenant_id_attr_id_fkey FOREIGN KEY (tenant_id, attr_id) REFERENCES attr_defs(tenant_id, id) ON DELETE CASCADE
constraint attr_values attr_values_tenant_id_user_id_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE
constraint change_counter change_counter_pkey PRIMARY KEY (id)
constraint change_log change_log_pkey PRIMARY KEY (id)
constraint change_records change_records_pkey PRIMARY KEY (seq, n)
constraint deliveries deliveries_pkey PRIMARY KEY (id)
constraint deliveries deliveries_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES subscriptions(id) ON DELETE CASCADE
constraint depts depts_pkey PRIMARY KEY (tenant_id, id)
constraint depts depts_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE
constraint dingtalk_tokens dingtalk_tokens_client_id_fkey FOREIGN KEY (client_id) REFERENCES apps(client_id) ON DELETE CASCADE
constraint dingtalk_tokens dingtalk_tokens_pkey PRIMARY KEY (token_hash)
constraint dismission_reasons dismission_reasons_pkey PRIMARY KEY (tenant_id, id)
constraint dismission_reasons dismission_reasons_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE
constraint dismissions dismissions_pkey PRIMARY KEY (tenant_id, user_id)
constraint dismissions dismissions_tenant_id_user_id_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE
constraint fault_rules fault_rules_pkey PRIMARY KEY (id)
constraint journal_entries journal_entries_pkey PRIMARY KEY (id)
constraint leave_log leave_log_pkey PRIMARY KEY (tenant_id, "time", user_id, reason)
constraint leave_log leave_log_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE
constraint memberships memberships_pkey PRIMARY KEY (tenant_id, user_id, dept_id)
constraint memberships memberships_tenant_id_dept_id_fkey FOREIGN KEY (tenant_id, dept_id) REFERENCES depts(tenant_id, id)
constraint memberships memberships_tenant_id_user_id_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE
constraint roster_field_options roster_field_options_pkey PRIMARY KEY (tenant_id, field_code, value)
constraint roster_field_options roster_field_options_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE
constraint roster_values roster_values_pkey PRIMARY KEY (tenant_id, user_id, group_id, row_index, field_code)
constraint roster_values roster_values_tenant_id_user_id_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE
constraint server_settings server_settings_pkey PRIMARY KEY (key)
constraint stream_tickets stream_tickets_pkey PRIMARY KEY (ticket)
constraint subscriptions subscriptions_pkey PRIMARY KEY (id)
constraint subscriptions subscriptions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE
constraint tenants tenants_dingtalk_corp_id_key UNIQUE (dingtalk_corp_id)
constraint tenants tenants_pkey PRIMARY KEY (id)
constraint tenants tenants_wps_company_id_key UNIQUE (wps_company_id)
constraint users users_pkey PRIMARY KEY (tenant_id, id)
constraint users users_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE
index CREATE UNIQUE INDEX alembic_version_pkc ON public.alembic_version USING btree (version_num)
index CREATE UNIQUE INDEX apps_pkey ON public.apps USING btree (client_id)
index CREATE UNIQUE INDEX attr_defs_pkey ON public.attr_defs USING btree (tenant_id, id)
index CREATE UNIQUE INDEX attr_values_pkey ON public.attr_values USING btree (tenant_id, user_id, attr_id)
index CREATE UNIQUE INDEX change_counter_pkey ON public.change_counter USING btree (id)
index CREATE UNIQUE INDEX change_log_pkey ON public.change_log USING btree (id)
index CREATE UNIQUE INDEX change_records_pkey ON public.change_records USING btree (seq, n)
index CREATE UNIQUE INDEX deliveries_pkey ON public.deliveries USING btree (id)
index CREATE UNIQUE INDEX depts_pkey ON public.depts USING btree (tenant_id, id)
index CREATE UNIQUE INDEX dingtalk_tokens_pkey ON public.dingtalk_tokens USING btree (token_hash)
index CREATE UNIQUE INDEX dismission_reasons_pkey ON public.dismission_reasons USING btree (tenant_id, id)
index CREATE UNIQUE INDEX dismissions_pkey ON public.dismissions USING btree (tenant_id, user_id)
index CREATE UNIQUE INDEX fault_rules_pkey ON public.fault_rules USING btree (id)
index CREATE INDEX ix_apps_tenant ON public.apps USING btree (tenant_id)
index CREATE INDEX ix_attr_values_attr ON public.attr_values USING btree (tenant_id, attr_id)
index CREATE INDEX ix_change_log_seq ON public.change_log USING btree (seq)
index CREATE INDEX ix_change_records_tenant ON public.change_records USING btree (tenant_id, seq)
index CREATE INDEX ix_deliveries_due ON public.deliveries USING btree (status, next_attempt_at)
index CREATE INDEX ix_deliveries_subscription ON public.deliveries USING btree (subscription_id, id)
index CREATE INDEX ix_deliveries_tenant ON public.deliveries USING btree (tenant_id, id)
index CREATE INDEX ix_depts_parent ON public.depts USING btree (tenant_id, parent_id, sort_order, id)
index CREATE INDEX ix_dingtalk_tokens_app ON public.dingtalk_tokens USING btree (client_id, expires_at)
index CREATE INDEX ix_dismissions_state ON public.dismissions USING btree (tenant_id, state, mtime)
index CREATE INDEX ix_memberships_dept ON public.memberships USING btree (tenant_id, dept_id, user_id)
index CREATE INDEX ix_stream_tickets_app ON public.stream_tickets USING btree (tenant, app)
index CREATE INDEX ix_subscriptions_tenant ON public.subscriptions USING btree (tenant_id, id)
index CREATE INDEX ix_users_name ON public.users USING btree (tenant_id, user_name, id)
index CREATE INDEX ix_users_status ON public.users USING btree (tenant_id, status, id)
index CREATE UNIQUE INDEX journal_entries_pkey ON public.journal_entries USING btree (id)
index CREATE UNIQUE INDEX leave_log_pkey ON public.leave_log USING btree (tenant_id, "time", user_id, reason)
index CREATE UNIQUE INDEX memberships_pkey ON public.memberships USING btree (tenant_id, user_id, dept_id)
index CREATE UNIQUE INDEX roster_field_options_pkey ON public.roster_field_options USING btree (tenant_id, field_code, value)
index CREATE UNIQUE INDEX roster_values_pkey ON public.roster_values USING btree (tenant_id, user_id, group_id, row_index, field_code)
index CREATE UNIQUE INDEX server_settings_pkey ON public.server_settings USING btree (key)
index CREATE UNIQUE INDEX stream_tickets_pkey ON public.stream_tickets USING btree (ticket)
index CREATE UNIQUE INDEX subscriptions_pkey ON public.subscriptions USING btree (id)
index CREATE UNIQUE INDEX tenants_dingtalk_corp_id_key ON public.tenants USING btree (dingtalk_corp_id)
index CREATE UNIQUE INDEX tenants_pkey ON public.tenants USING btree (id)
index CREATE UNIQUE INDEX tenants_wps_company_id_key ON public.tenants USING btree (wps_company_id)
index CREATE UNIQUE INDEX users_pkey ON public.users USING btree (tenant_id, id)
index CREATE UNIQUE INDEX ux_attr_defs_name ON public.attr_defs USING btree (tenant_id, name)
index CREATE UNIQUE INDEX ux_depts_ex ON public.depts USING btree (tenant_id, ex_dept_id)
index CREATE UNIQUE INDEX ux_users_email ON public.users USING btree (tenant_id, email)
index CREATE UNIQUE INDEX ux_users_employee_id ON public.users USING btree (tenant_id, employee_id)
index CREATE UNIQUE INDEX ux_users_ex_user_id ON public.users USING btree (tenant_id, ex_user_id)
index CREATE UNIQUE INDEX ux_users_login_name ON public.users USING btree (tenant_id, login_name)
index CREATE UNIQUE INDEX ux_users_phone ON public.users USING btree (tenant_id, phone)
sequence change_log_id_seq bigint
sequence deliveries_id_seq bigint
sequence fault_rules_id_seq bigint
sequence journal_entries_id_seq bigint
