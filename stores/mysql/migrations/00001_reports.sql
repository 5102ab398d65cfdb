-- +goose Up
-- Read models for dashboards. The processor upserts absolute values, so
-- every row is the full current state of its key. Timestamps are UTC, and
-- money is in the reporting currency with two decimal places.
--
-- Text keys use utf8mb4_bin, which compares by code point, so case and
-- accents matter.
-- NOTE: utf8mb4_bin is a PAD SPACE collation on MariaDB 10.11 and MySQL 8,
-- so 'u1' and 'u1 ' are the same key here while the PostgreSQL vault keeps
-- them apart. The NO PAD binary collations differ by server
-- (utf8mb4_nopad_bin on MariaDB, utf8mb4_0900_bin on MySQL).

CREATE TABLE user_profiles (
    uid             VARCHAR(128)  NOT NULL,
    email           VARCHAR(254)  NULL,
    phone           VARCHAR(32)   NULL,
    total_spins     BIGINT        NOT NULL,
    total_purchases DECIMAL(20,2) NOT NULL,
    purchase_count  BIGINT        NOT NULL,
    favorite_game   VARCHAR(128)  NULL,
    last_event_at   DATETIME(6)   NOT NULL,
    updated_at      DATETIME(6)   NOT NULL,
    PRIMARY KEY (uid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- report_id is report_type:window_start in RFC 3339 UTC, for example
-- daily:2021-11-01T00:00:00Z. A row never goes back from final to
-- provisional or to a lower revision.
CREATE TABLE aggregated_reports (
    report_id       VARCHAR(160)  NOT NULL,
    report_type     VARCHAR(64)   NOT NULL,
    window_start    DATETIME(6)   NOT NULL,
    window_end      DATETIME(6)   NOT NULL,
    total_spins     BIGINT        NOT NULL,
    total_purchases DECIMAL(20,2) NOT NULL,
    purchase_count  BIGINT        NOT NULL,
    avg_purchase    DECIMAL(20,2) NULL,
    most_spent_game VARCHAR(128)  NULL,
    active_users    BIGINT        NOT NULL,
    is_final        TINYINT(1)    NOT NULL,
    revision        INT           NOT NULL,
    `timestamp`     DATETIME(6)   NOT NULL,
    PRIMARY KEY (report_id),
    KEY aggregated_reports_type_window_idx (report_type, window_start)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The figures of aggregated_reports per window and app.
CREATE TABLE app_reports (
    report_id       VARCHAR(160)  NOT NULL,
    app_id          VARCHAR(128)  NOT NULL,
    report_type     VARCHAR(64)   NOT NULL,
    window_start    DATETIME(6)   NOT NULL,
    window_end      DATETIME(6)   NOT NULL,
    total_spins     BIGINT        NOT NULL,
    total_purchases DECIMAL(20,2) NOT NULL,
    purchase_count  BIGINT        NOT NULL,
    avg_purchase    DECIMAL(20,2) NULL,
    active_users    BIGINT        NOT NULL,
    is_final        TINYINT(1)    NOT NULL,
    revision        INT           NOT NULL,
    `timestamp`     DATETIME(6)   NOT NULL,
    PRIMARY KEY (report_id, app_id),
    KEY app_reports_type_window_idx (report_type, window_start)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE app_reports;
DROP TABLE aggregated_reports;
DROP TABLE user_profiles;
