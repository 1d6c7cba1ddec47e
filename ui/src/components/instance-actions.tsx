// The actions on an instance, each behind a confirmation that says what will
// happen. The API decides who may do what (a tenant's upgrade is refused
// there); the console only hides what cannot apply to this instance's state.
import { useState } from 'react';
import { ApiError, errorText, get, post, query, request } from '../api';
import { diffValues, show } from '../format';
import { navigate } from '../router';
import { valuesErrorsFromProblem, type FieldErrors, type Schema } from '../values-schema';
import type { InstanceDetail, Me, TemplateDetail, ValuesPreview, Version } from '../types';
import { ConfirmDialog, ErrorNote, useLoad } from './ui';
import { ValuesEditor, useValuesErrors, type ValuesState } from './values-editor';

type Open = 'hibernate' | 'wake' | 'delete' | 'upgrade' | 'edit' | undefined;

export function InstanceActions({ inst, me, onDone }: { inst: InstanceDetail; me: Me; onDone: () => void }) {
  const [open, setOpen] = useState<Open>();
  const readOnly = inst.source === 'cluster';
  const close = () => setOpen(undefined);
  return (
    <div className="actions toolbar" aria-label="Actions">
      {inst.state === 'Running' ? (
        <button type="button" disabled={readOnly} onClick={() => setOpen('hibernate')}>
          Hibernate
        </button>
      ) : (
        <button type="button" disabled={readOnly} onClick={() => setOpen('wake')}>
          Wake
        </button>
      )}
      <button type="button" disabled={readOnly} onClick={() => setOpen('edit')}>
        Edit values
      </button>
      {me.role === 'admin' && (
        <button type="button" disabled={readOnly} onClick={() => setOpen('upgrade')}>
          Upgrade
        </button>
      )}
      <button type="button" className="danger" disabled={readOnly} onClick={() => setOpen('delete')}>
        Delete
      </button>
      {readOnly && <p className="hint">Adopted from a CaelusInstance in git: change it there.</p>}
      {open === 'hibernate' && (
        <ConfirmDialog title={`Hibernate ${inst.namespace}?`} confirmLabel="Hibernate" onClose={close} onConfirm={async () => (await post(`/instances/${inst.id}/hibernate`), onDone())}>
          <p>The release is scaled to zero replicas. Volumes, values and the URL are kept; Wake restores the replicas.</p>
        </ConfirmDialog>
      )}
      {open === 'wake' && (
        <ConfirmDialog title={`Wake ${inst.namespace}?`} confirmLabel="Wake" onClose={close} onConfirm={async () => (await post(`/instances/${inst.id}/wake`), onDone())}>
          <p>The replicas are restored to what the values ask for.</p>
        </ConfirmDialog>
      )}
      {open === 'delete' && (
        <ConfirmDialog
          title={`Delete ${inst.namespace}?`}
          confirmLabel="Delete instance"
          danger
          onClose={close}
          onConfirm={async () => {
            await request('DELETE', `/instances/${inst.id}`);
            navigate('/');
          }}
        >
          <p>The Helm release is uninstalled. Deletion policy of this instance: <strong>{inst.deletionPolicy}</strong>.</p>
          {inst.deletionPolicy === 'Retain' ? (
            <p>
              Retain: the namespace <code>{inst.namespace}</code> and its PersistentVolumeClaims are <strong>kept</strong> (the data survives). The kept namespace still
              counts against the owner's quota until an admin releases it.
            </p>
          ) : (
            <p>
              Delete: the namespace <code>{inst.namespace}</code> is removed <strong>with its PersistentVolumeClaims</strong> — the data is lost and cannot be recovered.
            </p>
          )}
        </ConfirmDialog>
      )}
      {open === 'edit' && <EditValues inst={inst} onClose={close} onDone={onDone} />}
      {open === 'upgrade' && <Upgrade inst={inst} onClose={close} onDone={onDone} />}
    </div>
  );
}

function DiffTable({ before, after }: { before: unknown; after: unknown }) {
  const rows = diffValues(before, after);
  if (rows.length === 0) return <p>The effective values do not change.</p>;
  return (
    <table className="table diff" aria-label="Values diff, old to new">
      <thead>
        <tr>
          <th scope="col">Key</th>
          <th scope="col">Old</th>
          <th scope="col">New</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.pointer} className={`diff-${r.kind}`}>
            <td>
              <code>{r.pointer}</code>
            </td>
            <td>{r.kind === 'added' ? <em>(absent)</em> : <del>{show(r.before)}</del>}</td>
            <td>{r.kind === 'removed' ? <em>(removed)</em> : <ins>{show(r.after)}</ins>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Upgrade({ inst, onClose, onDone }: { inst: InstanceDetail; onClose: () => void; onDone: () => void }) {
  const template = useLoad(() => get<TemplateDetail>(`/templates/${inst.template.id}`), [inst.template.id]);
  const others = (template.data?.versions ?? []).filter((v) => v.id !== inst.templateVersion.id);
  const [target, setTarget] = useState<string>('');
  const chosen = target || others.at(-1)?.id || '';
  const preview = useLoad(
    () => (chosen ? get<ValuesPreview>(`/instances/${inst.id}/values-preview${query({ templateVersionId: chosen })}`) : Promise.resolve(undefined)),
    [chosen],
  );
  return (
    <ConfirmDialog
      title={`Upgrade ${inst.namespace}`}
      confirmLabel="Upgrade"
      confirmDisabled={!chosen}
      onClose={onClose}
      onConfirm={async () => (await post(`/instances/${inst.id}/upgrade`, { templateVersionId: chosen }), onDone())}
    >
      <p>
        Now on {inst.template.name}@{inst.templateVersion.version}.
      </p>
      {template.error ? <ErrorNote error={template.error} /> : null}
      {template.data && others.length === 0 && <p>This template has no other version.</p>}
      {others.length > 0 && (
        <div className="field">
          <label htmlFor="upgrade-version">Target version</label>
          <select id="upgrade-version" value={chosen} onChange={(e) => setTarget(e.target.value)}>
            {others.map((v: Version) => (
              <option key={v.id} value={v.id}>
                {v.version}
              </option>
            ))}
          </select>
        </div>
      )}
      <h3>Effective values, old → new</h3>
      {preview.data ? <DiffTable before={preview.data.current} after={preview.data.proposed} /> : preview.error ? <p className="hint">No preview: {errorText(preview.error)}</p> : <p>Loading the preview…</p>}
    </ConfirmDialog>
  );
}

function EditValues({ inst, onClose, onDone }: { inst: InstanceDetail; onClose: () => void; onDone: () => void }) {
  const version = useLoad(() => get<TemplateDetail>(`/templates/${inst.template.id}`).then((t) => t.versions.find((v) => v.id === inst.templateVersion.id)), [inst.template.id]);
  const [state, setState] = useState<ValuesState>({ values: inst.values });
  const [serverErrors, setServerErrors] = useState<FieldErrors>({});
  const errors = useValuesErrors(version.data?.valuesSchema as Schema | null, state, serverErrors);
  const invalid = Object.keys(errors).length > 0 || state.parseError !== undefined;
  return (
    <ConfirmDialog
      title={`Edit the values of ${inst.namespace}`}
      confirmLabel="Save values"
      confirmDisabled={invalid || !version.data}
      onClose={onClose}
      onConfirm={async () => {
        try {
          await request('PATCH', `/instances/${inst.id}`, { body: { values: state.values } });
        } catch (err) {
          if (err instanceof ApiError) setServerErrors(valuesErrorsFromProblem(err.problem.errors));
          throw err;
        }
        onDone();
      }}
    >
      <p>These overrides replace the instance's current ones and are merged over the template defaults; the release is upgraded in place.</p>
      {version.data && <ValuesEditor schema={version.data.valuesSchema as Schema | null} defaults={version.data.defaultValues} state={state} errors={errors} onChange={(s) => (setState(s), setServerErrors({}))} />}
      <h3>Overrides, old → new</h3>
      <DiffTable before={inst.values} after={state.values} />
    </ConfirmDialog>
  );
}
