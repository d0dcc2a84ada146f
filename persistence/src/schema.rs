// Written by hand to match migrations/{sqlite,postgres}: only types both backends share.

diesel::table! {
    providers (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        jurisdiction -> Text,
        status -> Text,
        auth_methods -> Text,
        policies -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        provider_id -> Text,
        name -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        legal_name -> Nullable<Text>,
        tax_id -> Nullable<Text>,
        billing_address -> Nullable<Text>,
        legal_hold_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        provider_id -> Text,
        client_id -> Text,
        email -> Text,
        name -> Text,
        phone -> Nullable<Text>,
        status -> Text,
        password_hash -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        phone_verified_at -> Nullable<Timestamp>,
        origin_key -> Nullable<Text>,
    }
}

diesel::table! {
    employees (id) {
        id -> Text,
        login -> Text,
        name -> Text,
        email -> Nullable<Text>,
        status -> Text,
        all_providers -> Bool,
        password_hash -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    employee_roles (employee_id, role) {
        employee_id -> Text,
        role -> Text,
    }
}

diesel::table! {
    employee_providers (employee_id, provider_id) {
        employee_id -> Text,
        provider_id -> Text,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        algorithm -> Text,
        private_key -> Text,
        public_key -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    temporary_keys (id) {
        id -> Text,
        key_hash -> Text,
        subject_kind -> Text,
        subject_id -> Text,
        provider_id -> Nullable<Text>,
        issued_by -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        subject_kind -> Text,
        subject_id -> Text,
        provider_id -> Nullable<Text>,
        method -> Text,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        amr -> Text,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        subject_kind -> Text,
        subject_id -> Text,
        provider_id -> Nullable<Text>,
        name -> Text,
        token_prefix -> Text,
        token_hash -> Text,
        scope -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    auth_throttle (throttle_key) {
        throttle_key -> Text,
        failures -> Integer,
        last_attempt_at -> Timestamp,
        streak_started_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    auth_events (id) {
        id -> Text,
        provider_id -> Nullable<Text>,
        subject_kind -> Nullable<Text>,
        subject_id -> Nullable<Text>,
        method -> Text,
        outcome -> Text,
        reason -> Text,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        created_at -> Timestamp,
        sealed_origin -> Nullable<Text>,
    }
}

diesel::table! {
    job_runs (name) {
        name -> Text,
        last_started_at -> Timestamp,
        last_duration_ms -> BigInt,
        last_removed -> BigInt,
        last_outcome -> Text,
        last_success_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        last_error_at -> Nullable<Timestamp>,
        runs -> BigInt,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        action -> Text,
        target_kind -> Text,
        target_id -> Nullable<Text>,
        provider_id -> Nullable<Text>,
        before_value -> Nullable<Text>,
        after_value -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    job_leases (name) {
        name -> Text,
        holder -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    sms_gateways (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        all_providers -> Bool,
        provider_ids -> Text,
        priority -> BigInt,
        resend_timeout_seconds -> BigInt,
        code_validity_seconds -> BigInt,
        sender -> Nullable<Text>,
        templates -> Text,
        settings -> Text,
        credentials -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    modules (name) {
        name -> Text,
        installed -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    client_clearings (client_id) {
        client_id -> Text,
        cleared_by -> Text,
        employee_id -> Nullable<Text>,
        reason -> Text,
        report -> Text,
        created_at -> Timestamp,
        origins_swept_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    processors (id) {
        id -> Text,
        name -> Text,
        purpose -> Text,
        country -> Text,
        mechanism -> Text,
        dpa_signed_on -> Nullable<Text>,
        auth_methods -> Text,
        sms_gateway_ids -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    phone_codes (id) {
        id -> Text,
        purpose -> Text,
        binding -> Text,
        provider_id -> Nullable<Text>,
        subject_kind -> Nullable<Text>,
        subject_id -> Nullable<Text>,
        phone -> Text,
        ip -> Nullable<Text>,
        code_hash -> Text,
        wrong_tries -> Integer,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    totp_factors (subject_kind, subject_id) {
        subject_kind -> Text,
        subject_id -> Text,
        secret -> Text,
        confirmed_at -> Nullable<Timestamp>,
        last_used_step -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    recovery_codes (code_hash) {
        code_hash -> Text,
        subject_kind -> Text,
        subject_id -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    mfa_challenges (id) {
        id -> Text,
        subject_kind -> Text,
        subject_id -> Text,
        provider_id -> Nullable<Text>,
        method -> Text,
        methods -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    staff_identity_providers (id) {
        id -> Text,
        name -> Text,
        issuer -> Text,
        client_id -> Text,
        client_secret -> Text,
        redirect_uris -> Text,
        role_mappings -> Text,
        enabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        accept_idp_mfa -> Bool,
        idp_mfa_acr_values -> Text,
    }
}

diesel::table! {
    oidc_transactions (id) {
        id -> Text,
        state_hash -> Text,
        kind -> Text,
        provider_id -> Nullable<Text>,
        staff_idp_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        issuer -> Text,
        redirect_uri -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    user_identity_links (id) {
        id -> Text,
        provider_id -> Text,
        user_id -> Text,
        issuer -> Text,
        subject -> Text,
        email -> Nullable<Text>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    employee_identity_links (id) {
        id -> Text,
        employee_id -> Text,
        staff_idp_id -> Text,
        issuer -> Text,
        subject -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    consent_documents (id) {
        id -> Text,
        provider_id -> Text,
        kind -> Text,
        titles -> Text,
        must_agree -> Bool,
        show_on_registration -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    consent_document_versions (id) {
        id -> Text,
        document_id -> Text,
        number -> BigInt,
        content_url -> Nullable<Text>,
        content_text -> Nullable<Text>,
        text_hash -> Text,
        effective_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    consent_records (id) {
        id -> Text,
        user_id -> Text,
        provider_id -> Text,
        document_id -> Text,
        document_version_id -> Text,
        version_number -> BigInt,
        text_hash -> Text,
        decision -> Text,
        method -> Text,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    consent_tickets (id) {
        id -> Text,
        ticket_hash -> Text,
        user_id -> Text,
        provider_id -> Text,
        method -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(clients -> providers (provider_id));
diesel::joinable!(users -> clients (client_id));
diesel::joinable!(employee_roles -> employees (employee_id));
diesel::joinable!(employee_providers -> employees (employee_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));

diesel::allow_tables_to_appear_in_same_query!(
    providers,
    clients,
    users,
    employees,
    employee_roles,
    employee_providers,
    signing_keys,
    temporary_keys,
    sessions,
    refresh_tokens,
    api_tokens,
    auth_throttle,
    auth_events,
    job_leases,
    audit_events,
    job_runs,
    sms_gateways,
    modules,
    client_clearings,
    processors,
    phone_codes,
    staff_identity_providers,
    oidc_transactions,
    user_identity_links,
    employee_identity_links,
    totp_factors,
    recovery_codes,
    mfa_challenges,
    consent_documents,
    consent_document_versions,
    consent_records,
    consent_tickets,
);
