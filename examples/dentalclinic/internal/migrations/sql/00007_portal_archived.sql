-- +goose Up
-- An archived patient's record closes their portal: sign-in finds no
-- account for it (the same answer as a wrong password). Same signature,
-- so the owner and grants of migration 4 stay.
CREATE OR REPLACE FUNCTION auth.portal_accounts(p_email text)
RETURNS TABLE (clinic_id uuid, clinic_name text, clinic_status text, account_id uuid, patient_id uuid, password_hash text, disabled boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.clinic_id, c.name, c.status, a.id, a.patient_id, a.password_hash, a.disabled
    FROM public.portal_accounts AS a
    JOIN public.clinics AS c ON c.id = a.clinic_id
    JOIN public.patients AS p ON p.clinic_id = a.clinic_id AND p.id = a.patient_id
    WHERE a.email = lower(p_email) AND p.status <> 'archived'
    ORDER BY c.name
$$;

-- +goose Down
CREATE OR REPLACE FUNCTION auth.portal_accounts(p_email text)
RETURNS TABLE (clinic_id uuid, clinic_name text, clinic_status text, account_id uuid, patient_id uuid, password_hash text, disabled boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.clinic_id, c.name, c.status, a.id, a.patient_id, a.password_hash, a.disabled
    FROM public.portal_accounts AS a JOIN public.clinics AS c ON c.id = a.clinic_id
    WHERE a.email = lower(p_email)
    ORDER BY c.name
$$;
