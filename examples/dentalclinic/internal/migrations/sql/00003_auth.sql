-- +goose Up
-- Sign-in happens before any tenant exists. These SECURITY DEFINER
-- functions, owned by the owner role (which has BYPASSRLS), return only what
-- sign-in needs, for one email. They run with a fixed search_path; the app
-- role may EXECUTE them and nothing else in schema auth. rls check knows
-- them by its allow-list.
CREATE SCHEMA auth;
REVOKE ALL ON SCHEMA auth FROM PUBLIC;

CREATE FUNCTION auth.staff_accounts(p_email text)
RETURNS TABLE (clinic_id uuid, clinic_name text, clinic_status text, staff_id uuid, roles text[], password_hash text, disabled boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.clinic_id, c.name, c.status, s.id, s.roles, s.password_hash, s.disabled
    FROM public.staff AS s JOIN public.clinics AS c ON c.id = s.clinic_id
    WHERE s.email = lower(p_email)
    ORDER BY c.name
$$;

CREATE FUNCTION auth.portal_accounts(p_email text)
RETURNS TABLE (clinic_id uuid, clinic_name text, clinic_status text, account_id uuid, patient_id uuid, password_hash text, disabled boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.clinic_id, c.name, c.status, a.id, a.patient_id, a.password_hash, a.disabled
    FROM public.portal_accounts AS a JOIN public.clinics AS c ON c.id = a.clinic_id
    WHERE a.email = lower(p_email)
    ORDER BY c.name
$$;

CREATE FUNCTION auth.platform_admin(p_email text)
RETURNS TABLE (admin_id uuid, name text, password_hash text, disabled boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.id, a.name, a.password_hash, a.disabled FROM public.platform_admins AS a WHERE a.email = lower(p_email)
$$;

-- An invite code names its clinic only through this lookup, by hash.
CREATE FUNCTION auth.portal_invite(p_code_hash text)
RETURNS TABLE (clinic_id uuid, patient_id uuid, expires_at timestamptz, used_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT i.clinic_id, i.patient_id, i.expires_at, i.used_at FROM public.portal_invites AS i WHERE i.code_hash = p_code_hash
$$;

-- +goose Down
DROP SCHEMA auth CASCADE;
