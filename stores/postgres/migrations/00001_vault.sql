-- +goose Up
-- Raw event vault in Data Vault 2.0 form. Hash keys are the MD5 of the
-- business key, stored as 16 bytes.

CREATE TABLE hub_user (
    user_hk       bytea       PRIMARY KEY,
    uid           text        NOT NULL UNIQUE,
    load_dts      timestamptz NOT NULL,
    record_source text        NOT NULL
);

CREATE TABLE hub_app (
    app_hk        bytea       PRIMARY KEY,
    app_id        text        NOT NULL UNIQUE,
    load_dts      timestamptz NOT NULL,
    record_source text        NOT NULL
);

-- link_hk is md5(uid || chr(31) || app_id). Ids never contain control
-- characters such as U+001F, so two different pairs never share a link_hk.
CREATE TABLE link_user_app (
    link_hk       bytea       PRIMARY KEY,
    user_hk       bytea       NOT NULL REFERENCES hub_user (user_hk),
    app_hk        bytea       NOT NULL REFERENCES hub_app (app_hk),
    load_dts      timestamptz NOT NULL,
    record_source text        NOT NULL
);

CREATE INDEX link_user_app_user_hk_idx ON link_user_app (user_hk);
CREATE INDEX link_user_app_app_hk_idx ON link_user_app (app_hk);

-- Satellites hold one row per event. msg_id is the event's idempotency key,
-- and uid and app_id are copied beside link_hk so batch queries need no join.
-- record_source is the Kafka topic, and kafka_partition and kafka_offset are
-- the position the row was read from.
CREATE TABLE satellite_auth_info (
    msg_id          text        PRIMARY KEY,
    link_hk         bytea       NOT NULL REFERENCES link_user_app (link_hk),
    uid             text        NOT NULL,
    app_id          text        NOT NULL,
    created_at      timestamptz NOT NULL,
    load_dts        timestamptz NOT NULL,
    record_source   text        NOT NULL,
    kafka_partition int         NOT NULL,
    kafka_offset    bigint      NOT NULL,
    email           text        NULL,
    phone           text        NULL
);

CREATE INDEX satellite_auth_info_uid_idx ON satellite_auth_info (uid);
CREATE INDEX satellite_auth_info_created_at_idx ON satellite_auth_info (created_at);

CREATE TABLE satellite_spin_info (
    msg_id          text        PRIMARY KEY,
    link_hk         bytea       NOT NULL REFERENCES link_user_app (link_hk),
    uid             text        NOT NULL,
    app_id          text        NOT NULL,
    created_at      timestamptz NOT NULL,
    load_dts        timestamptz NOT NULL,
    record_source   text        NOT NULL,
    kafka_partition int         NOT NULL,
    kafka_offset    bigint      NOT NULL,
    spin_count      bigint      NOT NULL,
    bet             numeric     NULL,
    win             numeric     NULL,
    currency        text        NULL
);

CREATE INDEX satellite_spin_info_uid_idx ON satellite_spin_info (uid);
CREATE INDEX satellite_spin_info_created_at_idx ON satellite_spin_info (created_at);

CREATE TABLE satellite_purchase_info (
    msg_id             text        PRIMARY KEY,
    link_hk            bytea       NOT NULL REFERENCES link_user_app (link_hk),
    uid                text        NOT NULL,
    app_id             text        NOT NULL,
    created_at         timestamptz NOT NULL,
    load_dts           timestamptz NOT NULL,
    record_source      text        NOT NULL,
    kafka_partition    int         NOT NULL,
    kafka_offset       bigint      NOT NULL,
    amount             numeric     NOT NULL,
    currency           char(3)     NOT NULL,
    amount_reporting   numeric     NOT NULL,
    reporting_currency char(3)     NOT NULL,
    product_id         text        NULL
);

CREATE INDEX satellite_purchase_info_uid_idx ON satellite_purchase_info (uid);
CREATE INDEX satellite_purchase_info_created_at_idx ON satellite_purchase_info (created_at);

-- Final window reports. Rows are only inserted, and a changed report gets a
-- higher revision.
CREATE TABLE satellite_aggregated_report_info (
    report_id       text        NOT NULL,
    revision        int         NOT NULL,
    report_type     text        NOT NULL,
    window_start    timestamptz NOT NULL,
    window_end      timestamptz NOT NULL,
    total_spins     bigint      NOT NULL,
    total_purchases numeric     NOT NULL,
    purchase_count  bigint      NOT NULL,
    avg_purchase    numeric     NULL,
    most_spent_game text        NULL,
    active_users    bigint      NOT NULL,
    load_dts        timestamptz NOT NULL,
    record_source   text        NOT NULL,
    PRIMARY KEY (report_id, revision)
);

CREATE INDEX satellite_aggregated_report_info_window_idx
    ON satellite_aggregated_report_info (report_type, window_start);

-- The next Kafka offset to read per consumer group and partition. The
-- processor owns these offsets and commits them in the same transaction as
-- the events read before them.
CREATE TABLE processor_offsets (
    consumer_group  text        NOT NULL,
    topic           text        NOT NULL,
    kafka_partition int         NOT NULL,
    next_offset     bigint      NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (consumer_group, topic, kafka_partition)
);

-- +goose Down
DROP TABLE processor_offsets;
DROP TABLE satellite_aggregated_report_info;
DROP TABLE satellite_purchase_info;
DROP TABLE satellite_spin_info;
DROP TABLE satellite_auth_info;
DROP TABLE link_user_app;
DROP TABLE hub_app;
DROP TABLE hub_user;
