index ix_apps_tenant: CREATE INDEX ix_apps_tenant ON apps (tenant_id);
index ix_attr_values_attr: CREATE INDEX ix_attr_values_attr ON attr_values (tenant_id, attr_id);
index ix_change_log_seq: CREATE INDEX ix_change_log_seq ON change_log (seq);
index ix_change_records_tenant: CREATE INDEX ix_change_records_tenant ON change_records (tenant_id, seq);
index ix_deliveries_due: CREATE INDEX ix_deliveries_due ON deliveries (status, next_attempt_at);
index ix_deliveries_subscription: CREATE INDEX ix_deliveries_subscription ON deliveries (subscription_id, id);
index ix_deliveries_tenant: CREATE INDEX ix_deliveries_tenant ON deliveries (tenant_id, id);
index ix_depts_parent: CREATE INDEX ix_depts_parent ON depts (tenant_id, parent_id, sort_order, id);
index ix_dingtalk_tokens_app: CREATE INDEX ix_dingtalk_tokens_app ON dingtalk_tokens (client_id, expires_at);
index ix_dismissions_state: CREATE INDEX ix_dismissions_state ON dismissions (tenant_id, state, mtime);
index ix_memberships_dept: CREATE INDEX ix_memberships_dept ON memberships (tenant_id, dept_id, user_id);
index ix_stream_tickets_app: CREATE INDEX ix_stream_tickets_app ON stream_tickets (tenant, app);
index ix_subscriptions_tenant: CREATE INDEX ix_subscriptions_tenant ON subscriptions (tenant_id, id);
index ix_users_name: CREATE INDEX ix_users_name ON users (tenant_id, user_name, id);
index ix_users_status: CREATE INDEX ix_users_status ON users (tenant_id, status, id);
index ux_attr_defs_name: CREATE UNIQUE INDEX ux_attr_defs_name ON attr_defs (tenant_id, name);
index ux_depts_ex: CREATE UNIQUE INDEX ux_depts_ex ON depts (tenant_id, ex_dept_id);
index ux_users_email: CREATE UNIQUE INDEX ux_users_email ON users (tenant_id, email);
index ux_users_employee_id: CREATE UNIQUE INDEX ux_users_employee_id ON users (tenant_id, employee_id);
index ux_users_ex_user_id: CREATE UNIQUE INDEX ux_users_ex_user_id ON users (tenant_id, ex_user_id);
index ux_users_login_name: CREATE UNIQUE INDEX ux_users_login_name ON users (tenant_id, login_name);
index ux_users_phone: CREATE UNIQUE INDEX ux_users_phone ON users (tenant_id, phone);
table alembic_version: CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
table apps: CREATE TABLE apps (
	client_id VARCHAR(128) NOT NULL, 
	tenant_id VARCHAR(64) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	secret_sealed BLOB NOT NULL, 
	secret_version INTEGER NOT NULL, 
	scopes TEXT NOT NULL, 
	signing VARCHAR(16) NOT NULL, 
	agentid BIGINT, 
	ctime BIGINT NOT NULL, platform VARCHAR(16) DEFAULT 'wps' NOT NULL, 
	PRIMARY KEY (client_id), 
	FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
table attr_defs: CREATE TABLE attr_defs (
	tenant_id VARCHAR(64) NOT NULL, 
	id VARCHAR(64) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	value_type VARCHAR(32) NOT NULL, 
	options TEXT NOT NULL, 
	sort_order BIGINT NOT NULL, 
	ctime BIGINT NOT NULL, 
	PRIMARY KEY (tenant_id, id), 
	FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
table attr_values: CREATE TABLE attr_values (
	tenant_id VARCHAR(64) NOT NULL, 
	user_id VARCHAR(64) NOT NULL, 
	attr_id VARCHAR(64) NOT NULL, 
	value TEXT NOT NULL, 
	PRIMARY KEY (tenant_id, user_id, attr_id), 
	FOREIGN KEY(tenant_id, attr_id) REFERENCES attr_defs (tenant_id, id) ON DELETE CASCADE, 
	FOREIGN KEY(tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
table change_counter: CREATE TABLE change_counter (
	id INTEGER NOT NULL, 
	seq BIGINT NOT NULL, 
	PRIMARY KEY (id)
);
table change_log: CREATE TABLE change_log (
	id INTEGER NOT NULL, 
	seq BIGINT NOT NULL, 
	tenant_id VARCHAR(64) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	entity_key VARCHAR(128) NOT NULL, 
	PRIMARY KEY (id)
);
table change_records: CREATE TABLE change_records (
	seq BIGINT NOT NULL, 
	n INTEGER NOT NULL, 
	tenant_id VARCHAR(64) NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	op VARCHAR(16) NOT NULL, 
	entity_id VARCHAR(128) NOT NULL, 
	fields TEXT NOT NULL, 
	"before" TEXT, 
	actor VARCHAR(128), 
	committed_at BIGINT NOT NULL, "after" TEXT, 
	PRIMARY KEY (seq, n)
);
table deliveries: CREATE TABLE deliveries (
	id INTEGER NOT NULL, 
	subscription_id VARCHAR(64) NOT NULL, 
	tenant_id VARCHAR(64) NOT NULL, 
	event_id VARCHAR(64) NOT NULL, 
	seq BIGINT NOT NULL, 
	topic VARCHAR(64) NOT NULL, 
	operation VARCHAR(16) NOT NULL, 
	entity_keys TEXT NOT NULL, 
	body BLOB NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	attempts INTEGER NOT NULL, 
	next_attempt_at BIGINT NOT NULL, 
	first_attempt_at BIGINT, 
	lease_owner VARCHAR(64), 
	lease_until BIGINT, 
	last_status INTEGER, 
	last_error TEXT, 
	created BIGINT NOT NULL, 
	delivered_at BIGINT, 
	PRIMARY KEY (id), 
	FOREIGN KEY(subscription_id) REFERENCES subscriptions (id) ON DELETE CASCADE
);
table depts: CREATE TABLE depts (
	tenant_id VARCHAR(64) NOT NULL, 
	id BIGINT NOT NULL, 
	parent_id BIGINT, 
	name VARCHAR(200) NOT NULL, 
	sort_order BIGINT NOT NULL, 
	ex_dept_id VARCHAR(128), 
	abs_path TEXT NOT NULL, 
	ctime BIGINT NOT NULL, 
	PRIMARY KEY (tenant_id, id), 
	FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
table dingtalk_tokens: CREATE TABLE dingtalk_tokens (
	token_hash VARCHAR(64) NOT NULL, 
	client_id VARCHAR(128) NOT NULL, 
	tenant_id VARCHAR(64) NOT NULL, 
	token_sealed BLOB NOT NULL, 
	secret_version INTEGER NOT NULL, 
	expires_at BIGINT NOT NULL, 
	ctime BIGINT NOT NULL, 
	PRIMARY KEY (token_hash), 
	FOREIGN KEY(client_id) REFERENCES apps (client_id) ON DELETE CASCADE
);
table dismission_reasons: CREATE TABLE dismission_reasons (
	tenant_id VARCHAR(64) NOT NULL, 
	id VARCHAR(64) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	sort_order INTEGER NOT NULL, 
	PRIMARY KEY (tenant_id, id), 
	FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
table dismissions: CREATE TABLE dismissions (
	tenant_id VARCHAR(64) NOT NULL, 
	user_id VARCHAR(64) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	last_work_day BIGINT NOT NULL, 
	memo TEXT NOT NULL, 
	voluntary TEXT NOT NULL, 
	passive TEXT NOT NULL, 
	pre_status VARCHAR(64), 
	handover_user_id VARCHAR(64), 
	depts TEXT NOT NULL, 
	main_dept_id BIGINT, 
	main_dept_name VARCHAR(200), 
	ctime BIGINT NOT NULL, 
	mtime BIGINT NOT NULL, 
	PRIMARY KEY (tenant_id, user_id), 
	FOREIGN KEY(tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
table fault_rules: CREATE TABLE fault_rules (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	spec TEXT NOT NULL, 
	remaining INTEGER, 
	hits BIGINT NOT NULL
);
table journal_entries: CREATE TABLE journal_entries (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	at FLOAT NOT NULL, 
	method VARCHAR(16) NOT NULL, 
	path TEXT NOT NULL, 
	"query" BLOB NOT NULL, 
	headers BLOB NOT NULL, 
	body BLOB NOT NULL, 
	body_size BIGINT NOT NULL, 
	status INTEGER NOT NULL, 
	reply_head BLOB NOT NULL, 
	latency FLOAT NOT NULL, 
	request_id VARCHAR(32) NOT NULL, 
	fault VARCHAR(32), 
	app VARCHAR(128)
);
table leave_log: CREATE TABLE leave_log (
	tenant_id VARCHAR(64) NOT NULL, 
	time BIGINT NOT NULL, 
	user_id VARCHAR(64) NOT NULL, 
	reason VARCHAR(16) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	mobile VARCHAR(64), 
	PRIMARY KEY (tenant_id, time, user_id, reason), 
	FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
table memberships: CREATE TABLE memberships (
	tenant_id VARCHAR(64) NOT NULL, 
	user_id VARCHAR(64) NOT NULL, 
	dept_id BIGINT NOT NULL, 
	is_leader BOOLEAN NOT NULL, 
	sort_order BIGINT NOT NULL, 
	PRIMARY KEY (tenant_id, user_id, dept_id), 
	FOREIGN KEY(tenant_id, dept_id) REFERENCES depts (tenant_id, id), 
	FOREIGN KEY(tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
table roster_field_options: CREATE TABLE roster_field_options (
	tenant_id VARCHAR(64) NOT NULL, 
	field_code VARCHAR(64) NOT NULL, 
	value VARCHAR(64) NOT NULL, 
	label VARCHAR(200) NOT NULL, 
	sort_order INTEGER NOT NULL, 
	deleted BOOLEAN NOT NULL, 
	PRIMARY KEY (tenant_id, field_code, value), 
	FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
table roster_values: CREATE TABLE roster_values (
	tenant_id VARCHAR(64) NOT NULL, 
	user_id VARCHAR(64) NOT NULL, 
	group_id VARCHAR(64) NOT NULL, 
	row_index INTEGER NOT NULL, 
	field_code VARCHAR(64) NOT NULL, 
	value TEXT NOT NULL, 
	PRIMARY KEY (tenant_id, user_id, group_id, row_index, field_code), 
	FOREIGN KEY(tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
)
 WITHOUT ROWID

;
table server_settings: CREATE TABLE server_settings (
	"key" VARCHAR(64) NOT NULL, 
	value TEXT NOT NULL, 
	PRIMARY KEY ("key")
);
table sqlite_sequence: CREATE TABLE sqlite_sequence(name,seq);
table stream_tickets: CREATE TABLE stream_tickets (
	ticket VARCHAR(64) NOT NULL, 
	tenant VARCHAR(64) NOT NULL, 
	app VARCHAR(128) NOT NULL, 
	topics TEXT NOT NULL, 
	expires_at BIGINT NOT NULL, 
	used_at BIGINT, 
	connection_id VARCHAR(64), 
	worker VARCHAR(128), 
	alive_until BIGINT, 
	closed_at BIGINT, 
	PRIMARY KEY (ticket)
);
table subscriptions: CREATE TABLE subscriptions (
	id VARCHAR(64) NOT NULL, 
	tenant_id VARCHAR(64) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	app VARCHAR(128) NOT NULL, 
	url TEXT NOT NULL, 
	topics TEXT NOT NULL, 
	payload VARCHAR(16) NOT NULL, 
	token_sealed BLOB, 
	aes_key_sealed BLOB, 
	status VARCHAR(16) NOT NULL, 
	cursor_seq BIGINT NOT NULL, 
	created BIGINT NOT NULL, missed BIGINT DEFAULT '0' NOT NULL, missed_until BIGINT, 
	PRIMARY KEY (id), 
	FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
table tenants: CREATE TABLE tenants (
	id VARCHAR(64) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	wps_company_id VARCHAR(64), 
	dingtalk_corp_id VARCHAR(64), 
	next_dept_id BIGINT NOT NULL, 
	seed TEXT, 
	ctime BIGINT NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (dingtalk_corp_id), 
	UNIQUE (wps_company_id)
);
table users: CREATE TABLE users (
	tenant_id VARCHAR(64) NOT NULL, 
	id VARCHAR(64) NOT NULL, 
	user_name VARCHAR(200) NOT NULL, 
	email VARCHAR(254), 
	phone VARCHAR(32), 
	gender VARCHAR(16) NOT NULL, 
	employee_id VARCHAR(64), 
	employer VARCHAR(200), 
	employment_status VARCHAR(32), 
	employment_type VARCHAR(32), 
	ex_user_id VARCHAR(128), 
	leader_id VARCHAR(64), 
	login_name VARCHAR(128), 
	role VARCHAR(16) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	title VARCHAR(200), 
	telephone VARCHAR(32), 
	work_place VARCHAR(200), 
	city VARCHAR(100), 
	country VARCHAR(100), 
	avatar VARCHAR(1024), 
	def_dept_id BIGINT, 
	ctime BIGINT NOT NULL, 
	mtime BIGINT NOT NULL, 
	PRIMARY KEY (tenant_id, id), 
	FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
