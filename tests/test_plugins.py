"A plugin file registers a student, a teacher, an objective and a dataset; once imported, each is listed, created and usable."
import textwrap
import torch
import pytest
from asymkd.core import AsymkdError, import_plugins

PLUGIN = textwrap.dedent('''
    import torch, torch.nn as nn
    from asymkd.students import Student, register_student
    from asymkd.teachers import Teacher, register_teacher
    from asymkd.losses import register_objective, cosine_distill_loss
    from asymkd.data import register_dataset

    @register_student('plug-mlp')
    class PlugMLP(Student):
        def __init__(self, embed_dim=512, hidden=16):
            super().__init__(feature_dim=hidden, embed_dim=embed_dim)
            self.body = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, hidden), nn.ReLU())
        def forward_features(self, x): return self.body(x)

    @register_teacher('plug-teacher')
    def plug_teacher(pretrained=True, checkpoint=None, device='cpu', input_size=None, seed=None):
        g = torch.Generator().manual_seed(0 if seed is None else seed)
        model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        with torch.no_grad():
            for p in model.parameters(): p.copy_(torch.randn(p.shape, generator=g))
        return Teacher(model, 'plug-teacher', 8, input_size or (32, 32), 'bilinear', (0.5,) * 3, (0.5,) * 3, f'plug-seed{seed}')

    @register_objective('cosine-mse')
    def cosine_mse(z_s, z_t, **kw):
        cos, mse = cosine_distill_loss(z_s, z_t), (z_s - z_t).pow(2).mean()
        return cos + mse, {'cosine': cos.detach(), 'mse': mse.detach()}

    @register_dataset('plug-blobs', forms=('plug-blobs:<n>',))
    def plug_blobs(arg, split, root=None):
        n = int(arg or 20)
        g = torch.Generator().manual_seed(0 if split == 'train' else 1)
        labels = torch.arange(n) % 2
        images = (torch.rand(n, 3, 32, 32, generator=g) * 100 + 120 * labels[:, None, None, None]).to(torch.uint8)
        return images, labels, ['dark', 'bright']
''')


@pytest.fixture(scope='module')
def plugin(tmp_path_factory):
    path = tmp_path_factory.mktemp('plug') / 'my_plugin.py'
    path.write_text(PLUGIN)
    mod, = import_plugins([str(path)])
    yield mod
    from asymkd.students import STUDENTS
    from asymkd.teachers import TEACHERS
    from asymkd.losses import OBJECTIVES
    from asymkd.data import DATASETS
    for reg, name in ((STUDENTS, 'plug-mlp'), (TEACHERS, 'plug-teacher'), (OBJECTIVES, 'cosine-mse'), (DATASETS, 'plug-blobs')):
        if name in reg: reg.unregister(name)


def test_student(plugin):
    from asymkd.students import list_students, create_student, check_student, student_input_kind
    assert 'plug-mlp' in list_students()
    assert check_student('plug-mlp') == 'plug-mlp' and student_input_kind('plug-mlp') == 'native'
    m = create_student('plug-mlp', embed_dim=8, seed=0)
    assert m(torch.rand(2, 3, 32, 32)).shape == (2, 8) and m.feature_dim == 16


def test_teacher(plugin, tmp_path):
    from asymkd.teachers import list_teachers, create_teacher, check_teacher, Teacher, TeacherCache
    from asymkd.data import load_dataset
    assert 'plug-teacher' in list_teachers() and check_teacher('plug-teacher') == 'plug-teacher'
    t = create_teacher('plug-teacher', seed=3)
    assert isinstance(t, Teacher) and t.embed_dim == 8 and t.weights_id == 'plug-seed3'
    data = load_dataset('plug-blobs:12', 'test')
    cache = TeacherCache(tmp_path / 'teachers')
    z = cache.get(t, data, progress=False)
    assert z.shape == (12, 8) and (cache.hits, cache.misses) == (0, 1)
    assert torch.equal(cache.get(t, data, progress=False), z) and cache.hits == 1


def test_objective(plugin):
    from asymkd.losses import OBJECTIVES, list_objectives, get_objective, distill_loss, cosine_distill_loss
    assert 'cosine-mse' in OBJECTIVES and 'cosine-mse' in list_objectives()
    assert get_objective('cosine-mse').needs_views is False
    zs, zt = torch.randn(4, 6), torch.randn(4, 6)
    loss, parts = distill_loss('cosine-mse', zs, zt)
    assert torch.allclose(loss, cosine_distill_loss(zs, zt) + (zs - zt).pow(2).mean())
    assert list(parts) == ['cosine', 'mse']


def test_dataset(plugin):
    from asymkd.data import list_datasets, load_dataset, check_dataset
    assert 'plug-blobs:<n>' in list_datasets() and check_dataset('plug-blobs:5') == 'plug-blobs:5'
    d = load_dataset('plug-blobs:10', 'train')
    assert d.images.shape == (10, 3, 32, 32) and d.images.dtype == torch.uint8
    assert d.classes == ['dark', 'bright'] and d.name == 'plug-blobs:10' and d.labels.tolist() == [0, 1] * 5
    with pytest.raises(AsymkdError, match="unknown dataset 'plug-blob'"): load_dataset('plug-blob')
